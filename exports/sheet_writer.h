// One worksheet of an .xlsx (ECMA-376 Part 1, 18.3 "Worksheets"), its XML
// produced row by row and deflated into the archive as it grows, so a sheet
// of 200,000 rows never exists whole as text.
//
// Strings are inline (t="inlineStr"): no shared-strings table to build and
// look up. Cells carry no reference ("A1") unless one before them on the row
// was left empty: the format places a cell without one just after the last
// (18.3.1.4), which keeps the XML, and so the time deflate takes, smaller.
// Text is escaped for XML, and what XML 1.0 cannot hold (control characters,
// U+FFFE/U+FFFF, malformed UTF-8) becomes U+FFFD, so a hostile payee or
// narration cannot break or inject into the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exports/zip_writer.h"

namespace sunledger {

// The cell styles xlsx.cc's styles.xml defines, by their index in cellXfs.
enum class CellStyle : uint8_t { kPlain = 0, kBold = 1, kMoney = 2, kDate = 3 };

// Appends text as XML character data (or an attribute value: quotes are
// escaped too); see the header comment for what is replaced.
void append_xml_text(std::string& out, std::string_view text);

class SheetWriter {
 public:
  // Starts the entry `path` in zip and writes the sheet's opening, with
  // `columns` columns `width` characters wide.
  SheetWriter(ZipWriter& zip, std::string_view path, int columns, double width);

  void row();  // starts the next row (ends the one before)
  void text(std::string_view s, CellStyle style = CellStyle::kPlain);
  void integer(int64_t v, CellStyle style = CellStyle::kPlain);
  void money(int64_t fen);  // as yuan with two decimals, shown #,##0.00
  void skip();              // an empty cell: nothing is written
  // Closes the sheet and the entry; the first failure of any step.
  [[nodiscard]] Status finish();

 private:
  void open_cell(CellStyle style, const char* type);
  void flush_if_big();

  ZipWriter& zip_;
  Status status_;
  std::string buf_;
  int64_t row_ = 0;  // 1-based; 0 before the first row
  int col_ = 0;      // 0-based column of the next cell
  bool need_ref_ = false;
  bool in_row_ = false;
};

}  // namespace sunledger

// A worksheet's XML streamed into the zip; see sheet_writer.h.
#include "exports/sheet_writer.h"

#include <charconv>

namespace sunledger {

namespace {

constexpr size_t kFlushAt = 256 * 1024;  // deflate in pieces this big: few calls, small buffer
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
// ECMA-376's largest row index: Excel, LibreOffice and WPS drop the rows past
// it when opening (at most with a warning), so more is refused, not written.
constexpr int64_t kMaxRows = 1'048'576;

// The length of the well-formed UTF-8 sequence XML 1.0 allows at s[i], or 0.
// Rejects overlong forms, surrogates, code points past U+10FFFF and the
// non-characters U+FFFE and U+FFFF (XML 1.0's Char production, section 2.2).
size_t valid_utf8_at(std::string_view s, size_t i) {
  auto b = [&s](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return n;
}

// "A".."Z", "AA"...: the column letters of a cell reference.
void append_column(std::string& out, int col) {
  char letters[4];
  int n = 0;
  for (int c = col + 1; c > 0; c = (c - 1) / 26) letters[n++] = static_cast<char>('A' + (c - 1) % 26);
  while (n > 0) out.push_back(letters[--n]);
}

void append_int(std::string& out, int64_t v) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, v);
  out.append(digits, r.ptr);
}

}  // namespace

void append_xml_text(std::string& out, std::string_view text) {
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    const char* escape = nullptr;
    size_t len = 1;
    if (c >= 0x80) {
      len = valid_utf8_at(text, i);
      if (len != 0) {
        i += len;
        continue;
      }
      escape = kReplacement.data();
      len = 1;  // resynchronise on the next byte
    } else if (c == '&') {
      escape = "&amp;";
    } else if (c == '<') {
      escape = "&lt;";
    } else if (c == '>') {
      escape = "&gt;";  // needed only after "]]", escaped always for simplicity
    } else if (c == '"') {
      escape = "&quot;";
    } else if (c == '\'') {
      escape = "&apos;";
    } else if (c == '\r') {
      escape = "&#13;";  // a raw CR would be read back as LF (XML 1.0 section 2.11)
    } else if (c < 0x20 && c != '\t' && c != '\n') {
      escape = kReplacement.data();  // forbidden in XML 1.0 even as a reference
    } else {
      ++i;
      continue;
    }
    out.append(text.data() + plain, i - plain);
    out.append(escape);
    i += len;
    plain = i;
  }
  out.append(text.data() + plain, text.size() - plain);
}

SheetWriter::SheetWriter(ZipWriter& zip, std::string_view path, int columns, double width) : zip_(zip) {
  status_ = zip_.begin(path);
  buf_.reserve(kFlushAt + 4096);
  buf_ +=
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
      "<cols><col min=\"1\" max=\"";
  append_int(buf_, columns);
  buf_ += "\" width=\"";
  char w[32];
  auto r = std::to_chars(w, w + sizeof w, width);
  buf_.append(w, r.ptr);
  buf_ += "\" customWidth=\"1\"/></cols><sheetData>";
}

void SheetWriter::flush_if_big() {
  if (buf_.size() < kFlushAt) return;
  if (status_.is_ok()) status_ = zip_.write(buf_);
  buf_.clear();
}

void SheetWriter::row() {
  if (in_row_) buf_ += "</row>";
  flush_if_big();
  if (row_ == kMaxRows && status_.is_ok())
    status_ = failed_precondition("xlsx: a sheet holds at most 1,048,576 rows; this one has more");
  ++row_;
  col_ = 0;
  need_ref_ = false;
  in_row_ = true;
  buf_ += "<row>";
}

void SheetWriter::open_cell(CellStyle style, const char* type) {
  buf_ += "<c";
  if (need_ref_) {
    buf_ += " r=\"";
    append_column(buf_, col_);
    append_int(buf_, row_);
    buf_ += '"';
    need_ref_ = false;
  }
  if (style != CellStyle::kPlain) {
    buf_ += " s=\"";
    buf_ += static_cast<char>('0' + static_cast<int>(style));
    buf_ += '"';
  }
  if (type != nullptr) buf_ += type;
  buf_ += '>';
  ++col_;
}

void SheetWriter::text(std::string_view s, CellStyle style) {
  open_cell(style, " t=\"inlineStr\"");
  bool edge_space = !s.empty() && (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t' ||
                                   s.front() == '\n' || s.back() == '\n');
  // Without xml:space a reader may trim a leading or trailing space.
  buf_ += edge_space ? "<is><t xml:space=\"preserve\">" : "<is><t>";
  append_xml_text(buf_, s);
  buf_ += "</t></is></c>";
}

void SheetWriter::integer(int64_t v, CellStyle style) {
  open_cell(style, nullptr);
  buf_ += "<v>";
  append_int(buf_, v);
  buf_ += "</v></c>";
}

void SheetWriter::money(int64_t fen) {
  open_cell(CellStyle::kMoney, nullptr);
  buf_ += "<v>";
  // Exact decimal text of fen / 100: no binary floating point on the way.
  uint64_t v = fen < 0 ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  if (fen < 0) buf_ += '-';
  append_int(buf_, static_cast<int64_t>(v / 100));
  buf_ += '.';
  buf_ += static_cast<char>('0' + v % 100 / 10);
  buf_ += static_cast<char>('0' + v % 10);
  buf_ += "</v></c>";
}

void SheetWriter::skip() {
  ++col_;
  need_ref_ = true;
}

Status SheetWriter::finish() {
  if (in_row_) buf_ += "</row>";
  in_row_ = false;
  buf_ += "</sheetData></worksheet>";
  if (status_.is_ok()) status_ = zip_.write(buf_);
  buf_.clear();
  if (status_.is_ok()) status_ = zip_.end();
  return status_;
}

}  // namespace sunledger

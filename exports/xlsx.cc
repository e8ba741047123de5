// The .xlsx export: a summary sheet (汇总) of every account's debits, credits
// and balance, then one sheet per published month with its postings.
//
// Written by hand (ECMA-376 / ISO/IEC 29500 SpreadsheetML, in the ZIP of
// zip_writer.h) rather than with libxlsxwriter, for issue #16's export target
// of 200,000 entries/s: the library deflates at zlib's default level and
// formats every cell with fprintf through a temporary file, which kept it
// near 40,000/s. Here each part is deflated at level 1 as it is produced and
// the workbook never touches the disk. The parts are the minimum Excel,
// LibreOffice, WPS and openpyxl open: [Content_Types].xml, _rels/.rels,
// xl/workbook.xml, xl/_rels/workbook.xml.rels, xl/styles.xml and the sheets.
// Dates and account codes are numbers (a date a spreadsheet can sort and add
// to, shown yyyy-mm-dd); money is yuan shown #,##0.00, written from fen exactly.
#include <map>
#include <set>

#include "exports/exports.h"
#include "exports/sheet_writer.h"
#include "exports/zip_writer.h"
#include "ledger/clock.h"

namespace sunledger {

namespace {

constexpr const char* kXmlHead = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
constexpr const char* kMainNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
constexpr const char* kRelNs = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

// A YYYY-MM-DD date (the books' dates are valid) as a spreadsheet's day
// number: days since 1899-12-30, what Excel and LibreOffice count from.
int64_t serial_date(const std::string& date) {
  auto num = [&date](size_t at, size_t n) {
    unsigned v = 0;
    for (size_t i = at; i < at + n && i < date.size(); ++i) v = v * 10 + static_cast<unsigned>(date[i] - '0');
    return v;
  };
  static const int64_t kEpoch = days_from_civil(1899, 12, 30);
  return days_from_civil(static_cast<int>(num(0, 4)), num(5, 2), num(8, 2)) - kEpoch;
}

// Account codes are digits ("241"): a number, as before; anything else text.
void code_cell(SheetWriter& w, const std::string& code) {
  // At most 18 digits: the value fits an int64 without overflow.
  bool digits = !code.empty() && code.size() <= 18;
  int64_t v = 0;
  for (size_t i = 0; digits && i < code.size(); ++i) {
    digits = code[i] >= '0' && code[i] <= '9';
    v = v * 10 + (code[i] - '0');
  }
  if (digits) w.integer(v);
  else w.text(code);
}

void header(SheetWriter& w, const std::vector<const char*>& titles) {
  w.row();
  for (const char* t : titles) w.text(t, CellStyle::kBold);
}

}  // namespace

// Excel's rules for a sheet name: 1-31 characters, none of []:*?/\, not
// starting or ending with an apostrophe, unique ignoring ASCII case.
std::string excel_sheet_name(std::string_view wanted, std::set<std::string>& taken) {
  std::string name;
  size_t chars = 0;
  for (size_t i = 0; i < wanted.size() && chars < 31;) {
    unsigned char c = static_cast<unsigned char>(wanted[i]);
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (i + len > wanted.size()) break;
    if (std::string_view("[]:*?/\\").find(static_cast<char>(c)) != std::string_view::npos || c < 0x20) name += '_';
    else name.append(wanted.substr(i, len));
    i += len;
    ++chars;
  }
  while (!name.empty() && name.front() == '\'') name.erase(0, 1);
  while (!name.empty() && name.back() == '\'') name.pop_back();
  if (name.empty()) name = "Sheet";
  auto folded = [](std::string s) {
    for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
  };
  std::string unique = name;
  for (int n = 2; taken.count(folded(unique)) != 0; ++n) {
    std::string suffix = "(" + std::to_string(n) + ")";
    // Trim whole characters (never a UTF-8 continuation byte) to fit 31.
    std::string base = name;
    auto count = [](const std::string& s) {
      size_t k = 0;
      for (char c : s) k += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      return k;
    };
    while (count(base) + suffix.size() > 31) {
      // One character off the end: its continuation bytes, then its first.
      while (!base.empty() && (static_cast<unsigned char>(base.back()) & 0xC0) == 0x80) base.pop_back();
      if (!base.empty()) base.pop_back();
    }
    unique = base + suffix;
  }
  taken.insert(folded(unique));
  return unique;
}

namespace {

Status put_part(ZipWriter& zip, std::string_view path, const std::string& xml) {
  Status s = zip.begin(path);
  if (s.is_ok()) s = zip.write(xml);
  if (s.is_ok()) s = zip.end();
  return s;
}

// The fixed parts around the sheets.
Status put_package_parts(ZipWriter& zip, const std::vector<std::string>& sheet_names) {
  std::string types = std::string(kXmlHead) +
                      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                      "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
                      "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
                      "<Override PartName=\"/xl/workbook.xml\" "
                      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>"
                      "<Override PartName=\"/xl/styles.xml\" "
                      "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>";
  std::string sheets, sheet_rels;
  for (size_t i = 1; i <= sheet_names.size(); ++i) {
    std::string n = std::to_string(i);
    types += "<Override PartName=\"/xl/worksheets/sheet" + n +
             ".xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>";
    sheets += "<sheet name=\"";
    append_xml_text(sheets, sheet_names[i - 1]);
    sheets += "\" sheetId=\"" + n + "\" r:id=\"rId" + n + "\"/>";
    sheet_rels += "<Relationship Id=\"rId" + n +
                  "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
                  "Target=\"worksheets/sheet" + n + ".xml\"/>";
  }
  types += "</Types>";
  std::string root_rels = std::string(kXmlHead) +
                          "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                          "<Relationship Id=\"rId1\" "
                          "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
                          "Target=\"xl/workbook.xml\"/></Relationships>";
  std::string workbook = std::string(kXmlHead) + "<workbook xmlns=\"" + kMainNs + "\" xmlns:r=\"" + kRelNs +
                         "\"><sheets>" + sheets + "</sheets></workbook>";
  std::string workbook_rels = std::string(kXmlHead) +
                              "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">" +
                              sheet_rels + "<Relationship Id=\"rId" + std::to_string(sheet_names.size() + 1) +
                              "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" "
                              "Target=\"styles.xml\"/></Relationships>";
  // cellXfs in CellStyle's order: plain, bold, money (built-in format 4,
  // "#,##0.00"), date (custom format 164, "yyyy-mm-dd"). Two fills are what
  // Excel expects (none and gray125) even when no cell uses them.
  std::string styles = std::string(kXmlHead) + "<styleSheet xmlns=\"" + kMainNs +
                       "\">"
                       "<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/></numFmts>"
                       "<fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/></font>"
                       "<font><b/><sz val=\"11\"/><name val=\"Calibri\"/></font></fonts>"
                       "<fills count=\"2\"><fill><patternFill patternType=\"none\"/></fill>"
                       "<fill><patternFill patternType=\"gray125\"/></fill></fills>"
                       "<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"
                       "<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>"
                       "<cellXfs count=\"4\">"
                       "<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>"
                       "<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"/>"
                       "<xf numFmtId=\"4\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
                       "<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>"
                       "</cellXfs>"
                       "<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>"
                       "</styleSheet>";
  Status s = put_part(zip, "[Content_Types].xml", types);
  if (s.is_ok()) s = put_part(zip, "_rels/.rels", root_rels);
  if (s.is_ok()) s = put_part(zip, "xl/workbook.xml", workbook);
  if (s.is_ok()) s = put_part(zip, "xl/_rels/workbook.xml.rels", workbook_rels);
  if (s.is_ok()) s = put_part(zip, "xl/styles.xml", styles);
  return s;
}

Status put_summary(ZipWriter& zip, const PublishedJournal& j) {
  SheetWriter w(zip, "xl/worksheets/sheet1.xml", 6, 16);
  header(w, {"科目编码", "科目名称", "类别", "借方合计", "贷方合计", "余额(借方为正)"});
  std::map<std::string, std::pair<Fen, Fen>> totals;  // code -> debit, credit
  for (const auto& t : j.txns)
    for (const auto& p : t.postings) (p.amount > 0 ? totals[p.account->code].first : totals[p.account->code].second) += p.amount;
  for (const auto& a : chart_2023()) {
    auto it = totals.find(a.code);
    if (it == totals.end()) continue;
    w.row();
    code_cell(w, a.code);
    w.text(a.name);
    w.text(account_type_zh(a.type));
    w.money(it->second.first);
    w.money(-it->second.second);
    w.money(it->second.first + it->second.second);
  }
  return w.finish();
}

Status put_month(ZipWriter& zip, size_t sheet, const std::vector<const JournalTxn*>& txns) {
  SheetWriter w(zip, "xl/worksheets/sheet" + std::to_string(sheet) + ".xml", 9, 14);
  header(w, {"日期", "凭证号", "对方", "摘要", "科目编码", "科目名称", "项目", "借方", "贷方"});
  for (const JournalTxn* t : txns) {
    int64_t date = serial_date(t->date);
    for (const auto& p : t->postings) {
      w.row();
      w.integer(date, CellStyle::kDate);
      w.integer(static_cast<int64_t>(t->index));
      // Empty cells are not written: an empty inline string is still a cell.
      if (t->payee.empty()) w.skip();
      else w.text(t->payee);
      if (t->narration.empty()) w.skip();
      else w.text(t->narration);
      code_cell(w, p.account->code);
      w.text(p.account->name);
      if (p.project.empty()) w.skip();
      else w.text(p.project);
      if (p.amount > 0) w.money(p.amount);
      else {
        w.skip();
        w.money(-p.amount);
      }
    }
  }
  return w.finish();
}

}  // namespace

Result<std::string> to_xlsx(const PublishedJournal& j) {
  std::set<std::string> taken;
  std::vector<std::string> names{excel_sheet_name("汇总", taken)};
  for (const auto& m : j.months) names.push_back(excel_sheet_name(m, taken));
  std::map<std::string, std::vector<const JournalTxn*>> by_month;  // each month's lines found in one pass
  for (const auto& t : j.txns) by_month[t.month].push_back(&t);

  ZipWriter zip(Z_BEST_SPEED);
  Status s = put_package_parts(zip, names);
  if (s.is_ok()) s = put_summary(zip, j);
  for (size_t i = 0; i < j.months.size() && s.is_ok(); ++i) s = put_month(zip, i + 2, by_month[j.months[i]]);
  if (!s.is_ok()) return unavailable("xlsx export failed: " + s.message());
  return zip.finish();
}

}  // namespace sunledger

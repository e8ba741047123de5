// Reading a bank statement CSV: its encoding (UTF-8, or GBK as most Chinese
// banks' online banking exports it), one of three header forms (found among
// the first lines, below the title rows banks put above it, its columns in
// any order among others such as 余额), and each line checked, every bad one
// named by its line so a file is fixed in one pass.
#include <iconv.h>

#include <array>
#include <cctype>
#include <optional>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/csv_import.h"
#include "ledger/names.h"
#include "reconcile/reconcile.h"

namespace sunledger {
namespace {

constexpr size_t kMaxLines = 50'000;
// Banks put an account title, the account number, the period and the like
// above the header: it is looked for among this many first lines.
constexpr size_t kHeaderSearchLines = 10;

enum class Form { kEnglish, kTwoAmounts, kFlag };
using Header = std::array<const char*, 5>;
constexpr Header kEnglish = {"date", "amount", "direction", "counterparty", "reference"};
constexpr Header kTwoAmounts = {"交易日期", "收入金额", "支出金额", "对方户名", "摘要"};
constexpr Header kFlag = {"交易日期", "交易金额", "收支标志", "对方户名", "摘要"};
constexpr const char* kHeaderHelp =
    "date,amount,direction,counterparty,reference 或 交易日期,收入金额,支出金额,对方户名,摘要 或 "
    "交易日期,交易金额,收支标志,对方户名,摘要";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    if ((n == 2 && c < 0xC2) || (n == 3 && c == 0xE0 && static_cast<unsigned char>(s[i + 1]) < 0xA0) ||
        (n == 4 && (c > 0xF4 || (c == 0xF0 && static_cast<unsigned char>(s[i + 1]) < 0x90))))
      return false;  // overlong forms and code points beyond U+10FFFF
    i += n;
  }
  return true;
}

constexpr const char* kEncodingHelp =
    "文件不是 UTF-8,也不能按 GBK(GB18030)读出;请先转换编码,例如 iconv -f GBK -t UTF-8 流水.csv > 流水-utf8.csv "
    "(the file is neither UTF-8 nor GBK/GB18030; convert it first, e.g. iconv -f GBK -t UTF-8 in.csv > out.csv)";

// GBK text as UTF-8, with glibc's iconv (GB18030 is GBK's superset and
// decodes every GBK file). An error when iconv has no such converter (a
// system without glibc's gconv modules) or the bytes are not GB18030.
Result<std::string> from_gb18030(std::string_view bytes) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == reinterpret_cast<iconv_t>(-1)) return invalid_argument(kEncodingHelp);
  std::string out(bytes.size() * 2 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char* dst = out.data();
  size_t out_left = out.size();
  size_t r = iconv(cd, &in, &in_left, &dst, &out_left);
  bool ok = r != static_cast<size_t>(-1) && in_left == 0;
  iconv_close(cd);
  if (!ok) return invalid_argument(kEncodingHelp);
  out.resize(out.size() - out_left);
  return out;
}

// 2022-11-21, 2022/11/21, 20221121, each maybe followed by a time.
std::optional<std::string> read_date(const std::string& cell) {
  std::string d = cell.substr(0, cell.find_first_of(" T"));
  if (d.size() == 8 && d.find_first_not_of("0123456789") == std::string::npos)
    d = d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
  else if (d.size() == 10 && d[4] == '/' && d[7] == '/')
    d[4] = d[7] = '-';
  if (!parse_date(d).is_ok()) return std::nullopt;
  return d;
}

std::optional<bool> read_direction(std::string flag) {
  for (auto& c : flag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (flag == "in" || flag == "收" || flag == "收入" || flag == "贷") return true;
  if (flag == "out" || flag == "支" || flag == "支出" || flag == "借") return false;
  return std::nullopt;
}

// An amount cell of the two-amounts form that holds nothing.
bool blank_amount(const std::string& cell) {
  return cell.empty() || cell == "-" || cell == "--" || cell == "0" || cell == "0.0" || cell == "0.00";
}

// Where each of a form's five columns is in the header row.
using Columns = std::array<size_t, 5>;

// The form a row is the header of, and its columns: every name of the form
// among its cells (the first of a name repeated), other cells ignored.
std::optional<std::pair<Form, Columns>> find_columns(const std::vector<std::string>& row) {
  const std::pair<Form, const Header*> forms[] = {{Form::kEnglish, &kEnglish}, {Form::kTwoAmounts, &kTwoAmounts}, {Form::kFlag, &kFlag}};
  for (const auto& [form, names] : forms) {
    Columns cols{};
    bool all = true;
    for (size_t i = 0; all && i < names->size(); ++i) {
      all = false;
      for (size_t k = 0; k < row.size(); ++k)
        if (trim(row[k]) == (*names)[i]) {
          cols[i] = k;
          all = true;
          break;
        }
    }
    if (all) return std::make_pair(form, cols);
  }
  return std::nullopt;
}

// A refusal as it may be shown: the reasons quote cells (a bad date, a bad
// amount), and a statement's bytes are anyone's; a control character (an
// escape sequence for the operator's terminal, C0, DEL or C1) is shown as '?'.
std::string printable(std::string s) {
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      s[i] = '?';
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      s.replace(i, 2, "?");
    }
  }
  return s;
}

// One data row into a line, or the reason it is refused.
Result<BankLine> read_line(Form form, const Columns& cols, const CsvRecord& rec) {
  BankLine l;
  l.source_line = rec.line;
  std::vector<std::string> c;
  for (size_t k : cols) c.push_back(trim(rec.fields[k]));
  auto date = read_date(c[0]);
  if (!date) return invalid_argument("日期“" + c[0] + "”无效,应为 2022-11-21、2022/11/21 或 20221121 (invalid date)");
  l.date = *date;
  std::string amount;
  if (form == Form::kTwoAmounts) {
    bool has_in = !blank_amount(c[1]), has_out = !blank_amount(c[2]);
    if (has_in == has_out)
      return invalid_argument("收入金额和支出金额应恰好填一个 (exactly one of the income and expense amounts)");
    l.in = has_in;
    amount = has_in ? c[1] : c[2];
  } else {
    auto d = read_direction(c[2]);
    if (!d)
      return invalid_argument("收支标志“" + c[2] + "”应为 收/支、收入/支出、借/贷 或 in/out (direction must be in or out)");
    l.in = *d;
    amount = c[1];
  }
  auto fen = parse_amount(amount);
  if (!fen.is_ok()) return fen.status();
  if (*fen == 0) return invalid_argument("金额为零 (the amount is zero)");
  l.amount = *fen;
  auto who = normalize_name(c[3], "对方户名", "counterparty");
  if (!who.is_ok()) return who.status();
  auto ref = normalize_name(c[4], "摘要", "reference");
  if (!ref.is_ok()) return ref.status();
  l.counterparty = std::move(*who);
  l.reference = std::move(*ref);
  return l;
}

}  // namespace

Result<BankStatement> parse_bank_statement(std::string_view bytes, const std::string& today) {
  BankStatement st;
  st.sha256 = hex_encode(sha256(bytes));
  std::string text;
  if (valid_utf8(bytes)) {
    text = std::string(bytes);
    st.encoding = "UTF-8";
  } else {
    auto decoded = from_gb18030(bytes);
    if (!decoded.is_ok()) return decoded.status();
    text = std::move(*decoded);
    st.encoding = "GB18030";
  }
  std::vector<CsvRecord> records;
  RowError split_error;
  if (!split_csv(text, &records, &split_error)) return invalid_argument(describe_row_errors({split_error}));
  if (records.empty()) return invalid_argument(std::string("第1行: 文件为空,第一行应为表头 ") + kHeaderHelp + " (empty file)");
  size_t at = 0;
  std::optional<std::pair<Form, Columns>> found;
  for (; at < records.size() && at < kHeaderSearchLines && !found; ++at) found = find_columns(records[at].fields);
  if (!found)
    return invalid_argument(describe_row_errors(
        {{records[0].line, "前" + std::to_string(kHeaderSearchLines) + "行里没有表头,表头应含这几列 " + kHeaderHelp +
                               " (no header row among the first lines; other columns, such as 余额, may be there too)"}}));
  const auto [form, cols] = *found;
  const CsvRecord& head = records[at - 1];
  const auto& header = head.fields;
  if (records.size() == at) return invalid_argument(describe_row_errors({{head.line, "只有表头,没有流水 (no lines after the header)"}}));
  if (records.size() - at > kMaxLines)
    return invalid_argument(describe_row_errors({{head.line, "一次最多对账50000行,请按月分开 (at most 50,000 lines per file; split it by month)"}}));
  std::vector<RowError> errors;
  std::string n = std::to_string(header.size());
  for (size_t r = at; r < records.size(); ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() != header.size()) {
      errors.push_back({rec.line, "应有" + n + "列(同表头),实际" + std::to_string(rec.fields.size()) +
                                      "列;含逗号的金额请加引号 (expected " + n + " columns, as the header; quote amounts with commas)"});
      continue;
    }
    auto line = read_line(form, cols, rec);
    if (!line.is_ok()) {
      errors.push_back({rec.line, printable(line.status().message())});
      continue;
    }
    if (line->date > today) {
      errors.push_back({rec.line, "日期" + line->date + "晚于今天 (dated after today)"});
      continue;
    }
    if (st.from.empty() || line->date < st.from) st.from = line->date;
    if (st.to.empty() || line->date > st.to) st.to = line->date;
    st.lines.push_back(std::move(*line));
  }
  if (!errors.empty())
    return invalid_argument("银行流水有误,未对账 (the bank statement has errors; nothing was reconciled):\n" +
                            describe_row_errors(errors));
  return st;
}

}  // namespace sunledger

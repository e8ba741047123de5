// Validation of what people give the ledger (names, lines, projects, subsidies)
// and the canonical bytes of an entry.
#include "ledger/ledger.h"

#include <string>
#include <string_view>

#include "ledger/identity.h"
#include "ledger/names.h"

#include "ledger/ledger_internal.h"

namespace sunledger {

using nlohmann::json;
using namespace ledger_internal;

namespace {

bool valid_utf8_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 1 && (c < 0x20 || c == 0x7F)) return false;  // no control characters in a field
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 40) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return id.front() != '-';
}

}  // namespace

namespace ledger_internal {

Status check_text(const std::string& value, const char* zh, const char* en, bool required, size_t max) {
  if (required && value.empty())
    return invalid_argument(std::string(zh) + "不能为空 (" + en + " is required)");
  if (value.size() > max)
    return invalid_argument(std::string(zh) + "太长,最多" + std::to_string(max) + "字节 (" + en + " is too long)");
  if (!valid_utf8_text(value))
    return invalid_argument(std::string(zh) + "含有无效字符 (" + en + " has invalid characters)");
  // Signed entries are public and permanent: an identity number typed into
  // any text of them could never be taken back. The error does not repeat it.
  if (looks_like_resident_id(value))
    return invalid_argument("“" + std::string(zh) + "”一栏像是身份证号,身份证号不能写进账目 (the " + en +
                            " looks like an identity number, which must not go into the books)");
  return Status::ok();
}

}  // namespace ledger_internal

// ---------------------------------------------------------------------------
// Validation and canonical bytes

// The names of a line (and its item) in NFC, or the first one that could impersonate another.
Status ledger_internal::normalize_names(TransactionLine& line) {
  struct Field {
    std::string* value;
    const char* zh;
    const char* en;
  };
  // The item too: the duplicate check compares it, and 打印纸 with a zero-width
  // space or a trailing full-width one must not pass for another line.
  for (const Field& f : {Field{&line.category, "类别", "category"}, Field{&line.item, "摘要", "item"},
                         Field{&line.project, "项目", "project"},
                         Field{&line.fund, "资金来源", "fund"}, Field{&line.counterparty, "对方", "counterparty"}}) {
    auto n = normalize_name(*f.value, f.zh, f.en);
    if (!n.is_ok()) return n.status();
    *f.value = std::move(*n);
  }
  return Status::ok();
}

// reserved: the logs of upper modules (Options::reserved_log_names); the
// ledger's own registry is never a village either.
Status validate_village(const Village& v, const std::set<std::string>& reserved) {
  if (!valid_id(v.id) || v.id == kVillagesLog || reserved.count(v.id))
    return invalid_argument("村编号“" + v.id + "”无效,只能用小写字母、数字和连字符 (village id must be [a-z0-9-], at most 40)");
  if (auto s = check_text(v.name, "村名", "village name", true, 100); !s.is_ok()) return s;
  return check_text(v.town, "乡镇", "town", true, 100);
}

Status validate_transaction(const TransactionLine& line) {
  auto d = parse_date(line.date);
  if (!d.is_ok()) return d.status();
  if (auto s = check_text(line.category, "类别", "category", true, 64); !s.is_ok()) return s;
  if (auto s = check_text(line.item, "摘要", "item", true, 200); !s.is_ok()) return s;
  if (auto s = check_text(line.project, "项目", "project", false, 100); !s.is_ok()) return s;
  if (auto s = check_text(line.fund, "资金来源", "fund", false, 100); !s.is_ok()) return s;
  if (auto s = check_text(line.counterparty, "对方", "counterparty", false, 200); !s.is_ok()) return s;
  if (auto s = check_text(line.note, "备注", "note", false); !s.is_ok()) return s;
  if (line.amount <= 0) return invalid_argument("金额必须大于零 (amount must be positive)");
  if (line.amount > kMaxAmountFen) return invalid_argument("金额过大,超过1亿元 (amount larger than 100,000,000 yuan)");
  return Status::ok();
}

Status validate_project(const ProjectRegistration& p) {
  if (auto s = check_text(p.name, "项目名称", "project name", true, 100); !s.is_ok()) return s;
  if (p.name.find(' ') != std::string::npos)
    return invalid_argument("项目名称不能含空格 (project name must not contain spaces)");
  if (p.approved <= 0 || p.approved > kMaxAmountFen)
    return invalid_argument("批复金额必须大于零且不超过1亿元 (approved budget must be positive and at most 100,000,000 yuan)");
  return Status::ok();
}

Status validate_subsidy(const SubsidyLine& s) {
  if (auto st = check_text(s.program, "补助类别", "program", true, 64); !st.is_ok()) return st;
  if (auto st = check_text(s.name_masked, "姓名", "name", true, 64); !st.is_ok()) return st;
  if (auto st = check_text(s.id_masked, "身份证号", "identity number", true, 32); !st.is_ok()) return st;
  if (s.id_hash.size() != 64) return invalid_argument("身份证号摘要无效 (identity hash must be 64 hex digits)");
  if (s.amount <= 0 || s.amount > kMaxAmountFen) return invalid_argument("金额必须大于零 (amount must be positive)");
  if (s.persons < 1 || s.persons > 50) return invalid_argument("人数应在1到50之间 (persons must be 1 to 50)");
  return Status::ok();
}

Result<std::string> canonical_json(const json& value) {
  try {
    // nlohmann::json keeps object keys in a std::map, so keys come out sorted
    // by their UTF-8 bytes; dump() without indent adds no whitespace.
    return value.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return invalid_argument(std::string("文本不是有效的UTF-8 (text is not valid UTF-8): ") + e.what());
  }
}

}  // namespace sunledger

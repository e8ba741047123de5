// The .xlsx export's own writer, judged by readers we did not write: Python's
// zipfile (the ZIP container, byte for byte) and Debian's python3-openpyxl
// (the workbook: sheets, header, money and date cells, Chinese text, and text
// made to break the XML).
#include <fstream>
#include <random>

#include "demo_fixture.h"
#include "exports/exports.h"
#include "exports/sheet_writer.h"
#include "exports/zip_writer.h"

namespace sunledger {
namespace {

std::string write_file(const std::filesystem::path& dir, const std::string& name, const std::string& body) {
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << body;
  return path;
}

std::pair<int, std::string> python(const std::filesystem::path& dir, const std::string& script, const std::string& args) {
  // Debian's own python3: python3-openpyxl installs for it, not for a pyenv
  // or venv python3 that may come first on PATH.
  auto r = testing::run_command("/usr/bin/python3 " + write_file(dir, "check.py", script) + " " + args);
  return {r.exit_code, r.output};
}

TEST(ZipWriter, PythonsZipfileExtractsEveryEntryByteIdentically) {
  testing::TempDir dir;
  std::mt19937 rng(16);
  std::string noise(1'500'000, '\0');  // > 1 MB, hardly compressible: stored bigger than deflate's window
  for (char& c : noise) c = static_cast<char>(rng());
  std::string xml;
  while (xml.size() < 2'000'000) xml += "<row><c t=\"inlineStr\"><is><t>某工程队</t></is></c></row>";
  std::vector<std::pair<std::string, std::string>> entries = {
      {"empty.txt", ""}, {"noise.bin", noise}, {"目录/中文.xml", xml}, {"one.txt", "x"}};
  ZipWriter zip;
  for (const auto& e : entries) {
    ASSERT_TRUE(zip.begin(e.first).is_ok());
    // In uneven pieces, as a sheet is streamed.
    for (size_t at = 0; at < e.second.size(); at += 70'001) ASSERT_TRUE(zip.write(std::string_view(e.second).substr(at, 70'001)).is_ok());
    ASSERT_TRUE(zip.end().is_ok());
  }
  auto archive = zip.finish();
  ASSERT_TRUE(archive.is_ok());
  std::string path = write_file(dir.path(), "a.zip", *archive);
  for (size_t i = 0; i < entries.size(); ++i) write_file(dir.path(), "expected" + std::to_string(i), entries[i].second);
  auto [code, out] = python(dir.path(),
                            "import sys, zipfile, os\n"
                            "z = zipfile.ZipFile(sys.argv[1])\n"
                            "print('testzip:', z.testzip())\n"
                            "for i, info in enumerate(z.infolist()):\n"
                            "    want = open(os.path.join(os.path.dirname(sys.argv[1]), 'expected%d' % i), 'rb').read()\n"
                            "    print(info.filename, info.compress_type, z.read(info) == want, len(want))\n",
                            path);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(out,
            "testzip: None\n"
            "empty.txt 8 True 0\n"
            "noise.bin 8 True 1500000\n"
            "目录/中文.xml 8 True " + std::to_string(xml.size()) + "\n"
            "one.txt 8 True 1\n");
  // Level 1 still compresses the repetitive XML well.
  EXPECT_LT(archive->size(), noise.size() + xml.size() / 10);
}

TEST(ZipWriter, RefusesToGrowPastWhatTheFormatHoldsWithoutZip64) {
  // A limit of 4,096 bytes stands in for 4 GiB: the same checks refuse.
  ZipWriter zip(Z_BEST_SPEED, 4096);
  ASSERT_TRUE(zip.begin("big.bin").is_ok());
  std::string bytes(10'000, 'a');
  Status s = zip.write(bytes);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.to_string();
  EXPECT_NE(s.message().find("zip64"), std::string::npos);
  // Every later call reports the same failure; no archive comes out.
  EXPECT_EQ(zip.end().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(zip.finish().is_ok());
  // Misuse is refused too, not written.
  ZipWriter misuse;
  EXPECT_FALSE(misuse.write("x").is_ok());
  ZipWriter unnamed;
  EXPECT_EQ(unnamed.begin("").code(), Code::kInvalidArgument);
}

TEST(XlsxSheetNames, FollowExcelsRules) {
  std::set<std::string> taken;
  EXPECT_EQ(excel_sheet_name("汇总", taken), "汇总");
  EXPECT_EQ(excel_sheet_name("2022-01", taken), "2022-01");
  EXPECT_EQ(excel_sheet_name("a[b]c:d*e?f/g\\h", taken), "a_b_c_d_e_f_g_h");
  EXPECT_EQ(excel_sheet_name("'quoted'", taken), "quoted");
  std::string long_name;
  for (int i = 0; i < 40; ++i) long_name += "村";
  std::string cut = excel_sheet_name(long_name, taken);
  EXPECT_EQ(cut, long_name.substr(0, 31 * 3));  // 31 characters, never half of one
  EXPECT_EQ(excel_sheet_name("2022-01", taken), "2022-01(2)");
  EXPECT_EQ(excel_sheet_name("QUOTED", taken), "QUOTED(2)");  // Excel ignores case
  std::string again = excel_sheet_name(long_name, taken);
  EXPECT_EQ(again, long_name.substr(0, 28 * 3) + "(2)");
  EXPECT_EQ(excel_sheet_name("''", taken), "Sheet");
  // Trimming for the suffix takes whole characters, ASCII or not, one at a time.
  std::string mixed;
  for (int i = 0; i < 28; ++i) mixed += "村";
  std::set<std::string> fresh;
  EXPECT_EQ(excel_sheet_name(mixed + "abc", fresh), mixed + "abc");
  EXPECT_EQ(excel_sheet_name(mixed + "abc", fresh), mixed + "(2)");
}

// A worksheet holds at most 1,048,576 rows (ECMA-376's row index; Excel,
// LibreOffice and WPS stop there and drop the rest, with at most a warning):
// a month with more lines is refused, not written as a sheet that loses its
// tail when opened.
TEST(XlsxSheet, RefusesMoreRowsThanASpreadsheetHolds) {
  const int64_t kMaxRows = 1'048'576;
  ZipWriter zip(Z_BEST_SPEED);
  {
    SheetWriter full(zip, "xl/worksheets/sheet1.xml", 1, 10);
    for (int64_t i = 0; i < kMaxRows; ++i) {
      full.row();
      full.integer(i);
    }
    EXPECT_TRUE(full.finish().is_ok());
  }
  SheetWriter over(zip, "xl/worksheets/sheet2.xml", 1, 10);
  for (int64_t i = 0; i <= kMaxRows; ++i) {
    over.row();
    over.integer(i);
  }
  Status s = over.finish();
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.to_string();
  EXPECT_NE(s.message().find("1,048,576"), std::string::npos) << s.message();
}

class XlsxExport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto journal = published_journal(*d.t.ledger, "shuangjiang");
    ASSERT_TRUE(journal.is_ok());
    j = *journal;
  }
  testing::DemoDeployment d;
  PublishedJournal j;
};

TEST_F(XlsxExport, OpenpyxlReadsSheetsHeaderMoneyDatesAndChinese) {
  ASSERT_FALSE(j.months.empty());
  auto xlsx = to_xlsx(j);
  ASSERT_TRUE(xlsx.is_ok());
  std::string path = write_file(d.t.dir.path(), "books.xlsx", *xlsx);
  // The first posting of the first month, and that month's postings.
  const std::string& month = j.months.front();
  const JournalTxn* first = nullptr;
  size_t postings = 0;
  for (const auto& t : j.txns)
    if (t.month == month) {
      if (first == nullptr) first = &t;
      postings += t.postings.size();
    }
  ASSERT_NE(first, nullptr);
  const Posting& p = first->postings.front();
  auto [code, out] = python(d.t.dir.path(),
                            "import sys, zipfile, datetime, openpyxl\n"
                            "print('testzip', zipfile.ZipFile(sys.argv[1]).testzip())\n"
                            "wb = openpyxl.load_workbook(sys.argv[1])\n"
                            "print('|'.join(wb.sheetnames))\n"
                            "s = wb[sys.argv[2]]\n"
                            "print('|'.join(str(c.value) for c in s[1]), s['A1'].font.b)\n"
                            "print('rows', s.max_row)\n"
                            "d = s['A2']\n"
                            "print('date', isinstance(d.value, datetime.datetime), d.value.strftime('%Y-%m-%d'), d.number_format)\n"
                            "m = s['H2'] if s['H2'].value is not None else s['I2']\n"
                            "print('money', '%.2f' % m.value, m.number_format)\n"
                            "print('name', s['F2'].value)\n"
                            "t = wb['汇总']\n"
                            "print('summary', '|'.join(str(c.value) for c in t[1]))\n",
                            path + " " + month);
  ASSERT_EQ(code, 0) << out;
  std::string sheets = "汇总";
  for (const auto& m : j.months) sheets += "|" + m;
  Fen amount = p.amount > 0 ? p.amount : -p.amount;
  EXPECT_EQ(out, "testzip None\n" + sheets +
                     "\n"
                     "日期|凭证号|对方|摘要|科目编码|科目名称|项目|借方|贷方 True\n"
                     "rows " + std::to_string(postings + 1) + "\n"
                     "date True " + first->date + " yyyy-mm-dd\n"
                     "money " + plain_amount(amount) + " #,##0.00\n"
                     "name " + p.account->name + "\n"
                     "summary 科目编码|科目名称|类别|借方合计|贷方合计|余额(借方为正)\n");
}

TEST_F(XlsxExport, MarkupAndControlCharactersInTextCannotBreakOrInjectIntoTheSheet) {
  ASSERT_FALSE(j.txns.empty());
  PublishedJournal hostile = j;
  JournalTxn& t = hostile.txns.front();
  for (auto& other : hostile.txns)
    if (other.month == t.month && &other != &t) other.postings.clear();  // t alone on its sheet
  // Closing the cell and opening a formula cell would run in a spreadsheet
  // if the text were not escaped; the control characters are not XML at all.
  t.payee = std::string("<&>\"' </t></is></c><c><f>HYPERLINK(\"http://x\")</f></c>\x01\x1f end ");
  t.narration = std::string("tab\there\r\nline\x7f \xff\xfe bad utf-8 \xed\xa0\x80 surrogate 村");
  auto xlsx = to_xlsx(hostile);
  ASSERT_TRUE(xlsx.is_ok());
  std::string path = write_file(d.t.dir.path(), "hostile.xlsx", *xlsx);
  auto [code, out] = python(d.t.dir.path(),
                            "import sys, openpyxl\n"
                            "s = openpyxl.load_workbook(sys.argv[1])[sys.argv[2]]\n"
                            "print(repr(s['C2'].value))\n"
                            "print(repr(s['D2'].value))\n"
                            "print(s.max_row, s['C2'].data_type, any(c.data_type == 'f' for r in s.iter_rows() for c in r))\n",
                            path + " " + t.month);
  ASSERT_EQ(code, 0) << out;
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD, what the forbidden bytes became
  EXPECT_EQ(out, "'<&>\"\\' </t></is></c><c><f>HYPERLINK(\"http://x\")</f></c>" + r + r + " end '\n" +
                     "'tab\\there\\r\\nline\\x7f " + r + r + " bad utf-8 " + r + r + r + " surrogate 村'\n" +
                     std::to_string(t.postings.size() + 1) + " s False\n");
}

}  // namespace
}  // namespace sunledger

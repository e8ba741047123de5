// WeCom's XML parser (webhooks/xml.h): what it reads and what it refuses.
#include "webhooks/xml.h"

#include <gtest/gtest.h>

namespace sunledger {
namespace {

// Tags a user types stay text: only the tree decides what a field is.
TEST(PlatformXml, TagsInsideTextAreText) {
  auto doc = platform::parse_xml(
      "<xml><Content><![CDATA[hi<ChatId>x</ChatId><From><UserId>secretary</UserId></From>]]></Content>"
      "<FromUserName>mallory</FromUserName><Note>a &lt;b&gt; &amp; &#x4E2D;</Note></xml>");
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  EXPECT_EQ(doc->children.size(), 3u);
  EXPECT_EQ(doc->count("ChatId"), 0u);
  EXPECT_EQ(doc->count("From"), 0u);
  EXPECT_EQ(*platform::xml_text(*doc, "Content"), "hi<ChatId>x</ChatId><From><UserId>secretary</UserId></From>");
  EXPECT_EQ(*platform::xml_text(*doc, "FromUserName"), "mallory");
  EXPECT_EQ(*platform::xml_text(*doc, "Note"), "a <b> & 中");
}

TEST(PlatformXml, RefusesWhatNoPlatformSends) {
  auto refused = [](const std::string& doc) { return !platform::parse_xml(doc).is_ok(); };
  EXPECT_FALSE(refused("<xml><A>1</A></xml>"));
  // A DOCTYPE is refused outright, with or without entities in it.
  EXPECT_TRUE(refused("<!DOCTYPE xml><xml><A>1</A></xml>"));
  EXPECT_TRUE(refused("<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY a \"secretary\">]><xml><A>&a;</A></xml>"));
  EXPECT_TRUE(refused("<!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><xml><A>&c;&c;&c;&c;</A></xml>"));
  EXPECT_TRUE(refused("<!DOCTYPE xml SYSTEM \"file:///etc/passwd\"><xml><A>&x;</A></xml>"));
  // Entities other than XML's five are undefined without a DTD.
  EXPECT_TRUE(refused("<xml><A>&nbsp;</A></xml>"));
  // Malformed, unclosed, two roots, junk after the root.
  EXPECT_TRUE(refused("<xml><A>1</B></xml>"));
  EXPECT_TRUE(refused("<xml><A>1</A>"));
  EXPECT_TRUE(refused("<xml/><xml/>"));
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("not xml"));
  // Size and depth caps.
  EXPECT_TRUE(refused("<xml><A>" + std::string(platform::kMaxXmlBytes, 'a') + "</A></xml>"));
  std::string deep;
  for (int i = 0; i < platform::kMaxXmlDepth + 1; ++i) deep += "<a>";
  for (int i = 0; i < platform::kMaxXmlDepth + 1; ++i) deep += "</a>";
  EXPECT_TRUE(refused(deep));
  std::string deepest;
  for (int i = 0; i < platform::kMaxXmlDepth; ++i) deepest += "<a>";
  for (int i = 0; i < platform::kMaxXmlDepth; ++i) deepest += "</a>";
  EXPECT_FALSE(refused(deepest)) << "the cap itself is allowed";
  std::string wide = "<xml>";
  for (size_t i = 0; i < platform::kMaxXmlElements; ++i) wide += "<a/>";
  EXPECT_TRUE(refused(wide + "</xml>"));
  // Invalid UTF-8 is malformed XML.
  EXPECT_TRUE(refused("<xml><A>\xff\xfe</A></xml>"));
  // Duplicate direct children are two claims for one field.
  auto doc = platform::parse_xml("<xml><MsgId>1</MsgId><MsgId>2</MsgId></xml>");
  ASSERT_TRUE(doc.is_ok());
  EXPECT_FALSE(platform::xml_unique_children(*doc).is_ok());
  EXPECT_FALSE(platform::xml_text(*doc, "MsgId").is_ok());
  EXPECT_EQ(doc->child("MsgId"), nullptr);
}

}  // namespace
}  // namespace sunledger

// WeCom's XML, read with a real XML parser (libexpat) instead of searching
// the text for tags: the decrypted plaintext carries the user's own message,
// so a search finds whatever tags the user typed. A parsed tree knows which
// <UserId> is the sender's and which is text inside <Content>.
//
// Functions without state, values without pointers: safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace sunledger::platform {

struct XmlElement {
  std::string name;
  std::string text;  // character data directly inside (CDATA unwrapped, the five entities decoded)
  std::vector<XmlElement> children;

  // How many direct children are called `name`.
  size_t count(std::string_view child) const;
  // The one direct child called `name`: nullptr when absent or repeated (use
  // count() to tell the two apart).
  const XmlElement* child(std::string_view child) const;
};

// Limits a platform message never comes near; anything past them is refused.
inline constexpr size_t kMaxXmlBytes = 64 * 1024;
inline constexpr int kMaxXmlDepth = 8;
inline constexpr size_t kMaxXmlElements = 512;

// Parses one whole document. Refused (kInvalidArgument): malformed XML, a
// DOCTYPE (so no DTD, no entity definitions and no expansion), any entity
// other than XML's five and character references, more than kMaxXmlBytes,
// nesting deeper than kMaxXmlDepth, more than kMaxXmlElements elements.
// Attributes, comments and processing instructions are ignored.
Result<XmlElement> parse_xml(std::string_view document);

// The text of `parent`'s one direct child `name`, which must hold text only.
// Absent: "" (or an error when required). Repeated, or holding elements: an
// error, since a field must come from its one place.
Result<std::string> xml_text(const XmlElement& parent, std::string_view name, bool required = false);

// Refuses an element with two direct children of the same name: two
// <FromUserName> or two <MsgId> are two claims, and no reader may pick one.
Status xml_unique_children(const XmlElement& parent);

}  // namespace sunledger::platform

#include "webhooks/xml.h"

#include <expat.h>

#include <set>

namespace sunledger::platform {

size_t XmlElement::count(std::string_view name) const {
  size_t n = 0;
  for (const auto& c : children)
    if (c.name == name) ++n;
  return n;
}

const XmlElement* XmlElement::child(std::string_view name) const {
  const XmlElement* found = nullptr;
  for (const auto& c : children) {
    if (c.name != name) continue;
    if (found != nullptr) return nullptr;
    found = &c;
  }
  return found;
}

namespace {

// Builds the tree while expat reads; the first refusal stops the parser.
struct Builder {
  XML_Parser parser = nullptr;
  std::vector<XmlElement> open;  // the path from the root to the current element
  XmlElement root;
  bool have_root = false;
  size_t elements = 0;
  std::string error;

  void refuse(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

void XMLCALL on_start(void* data, const XML_Char* name, const XML_Char**) {
  auto* b = static_cast<Builder*>(data);
  if (!b->error.empty()) return;
  if (++b->elements > kMaxXmlElements) return b->refuse("more than " + std::to_string(kMaxXmlElements) + " elements");
  if (b->open.size() >= static_cast<size_t>(kMaxXmlDepth))
    return b->refuse("nested deeper than " + std::to_string(kMaxXmlDepth) + " levels");
  b->open.push_back(XmlElement{name, "", {}});
}

void XMLCALL on_end(void* data, const XML_Char*) {
  auto* b = static_cast<Builder*>(data);
  if (!b->error.empty() || b->open.empty()) return;
  XmlElement done = std::move(b->open.back());
  b->open.pop_back();
  if (b->open.empty()) {
    b->root = std::move(done);
    b->have_root = true;
  } else {
    b->open.back().children.push_back(std::move(done));
  }
}

void XMLCALL on_text(void* data, const XML_Char* s, int len) {
  auto* b = static_cast<Builder*>(data);
  if (!b->error.empty() || b->open.empty()) return;
  b->open.back().text.append(s, static_cast<size_t>(len));
}

// A DOCTYPE is where entities (billion laughs, external files) are defined:
// no platform sends one, so any is refused before its content is read.
void XMLCALL on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  static_cast<Builder*>(data)->refuse("a DOCTYPE is not accepted");
}

void XMLCALL on_entity_decl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                            const XML_Char*, const XML_Char*) {
  static_cast<Builder*>(data)->refuse("entity declarations are not accepted");
}

void XMLCALL on_skipped_entity(void* data, const XML_Char*, int) {
  static_cast<Builder*>(data)->refuse("undefined entity");
}

}  // namespace

Result<XmlElement> parse_xml(std::string_view document) {
  if (document.size() > kMaxXmlBytes) return invalid_argument("XML larger than " + std::to_string(kMaxXmlBytes) + " bytes");
  // UTF-8 whatever the declaration says: the platforms send UTF-8, and a
  // declared legacy encoding would only be a way to smuggle other bytes.
  XML_Parser p = XML_ParserCreate("UTF-8");
  if (p == nullptr) return internal_error("cannot create an XML parser");
  Builder b;
  b.parser = p;
  XML_SetUserData(p, &b);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  XML_SetStartDoctypeDeclHandler(p, on_doctype);
  XML_SetEntityDeclHandler(p, on_entity_decl);
  XML_SetSkippedEntityHandler(p, on_skipped_entity);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
  XML_Status st = XML_Parse(p, document.data(), static_cast<int>(document.size()), XML_TRUE);
  std::string expat_error;
  if (st != XML_STATUS_OK)
    expat_error = std::string(XML_ErrorString(XML_GetErrorCode(p))) + " at line " +
                  std::to_string(XML_GetCurrentLineNumber(p));
  XML_ParserFree(p);
  if (!b.error.empty()) return invalid_argument("XML refused: " + b.error);
  if (!expat_error.empty()) return invalid_argument("malformed XML: " + expat_error);
  if (!b.have_root) return invalid_argument("malformed XML: no root element");
  return std::move(b.root);
}

Result<std::string> xml_text(const XmlElement& parent, std::string_view name, bool required) {
  size_t n = parent.count(name);
  std::string where = "<" + parent.name + "><" + std::string(name) + ">";
  if (n == 0) {
    if (required) return invalid_argument(where + " is missing");
    return std::string();
  }
  if (n > 1) return invalid_argument(where + " appears " + std::to_string(n) + " times");
  const XmlElement* e = parent.child(name);
  if (!e->children.empty()) return invalid_argument(where + " must hold text, not elements");
  return e->text;
}

Status xml_unique_children(const XmlElement& parent) {
  std::set<std::string_view> seen;
  for (const auto& c : parent.children)
    if (!seen.insert(c.name).second) return invalid_argument("<" + parent.name + "><" + c.name + "> appears more than once");
  return Status::ok();
}

}  // namespace sunledger::platform

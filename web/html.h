// HTML built from templates that escape by default: a value is text, and
// text is escaped where it lands, unless it is already Html (markup written
// in this module's source, or the output of another template).
// Pure values: no shared state; templates are immutable once built, so one
// may be rendered from any number of threads.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sunledger::web {

// A piece of markup that is safe to insert as it is.
class Html {
 public:
  Html() = default;
  // Text as markup: & < > " ' become entities.
  static Html escape(std::string_view text);
  // Markup written in this module's source: only a string literal converts,
  // so stored text can never reach a page unescaped through here.
  template <size_t N>
  static Html markup(const char (&literal)[N]) {
    return Html(std::string(literal, N - 1));
  }
  Html& operator+=(const Html& more) {
    text_ += more.text_;
    return *this;
  }
  const std::string& str() const { return text_; }
  bool empty() const { return text_.empty(); }

 private:
  friend class Template;
  explicit Html(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// What fills a slot: text (escaped when rendered) or Html (inserted as is).
class Value {
 public:
  Value(const char* text) : html_(Html::escape(text)) {}
  Value(const std::string& text) : html_(Html::escape(text)) {}
  Value(std::string_view text) : html_(Html::escape(text)) {}
  Value(Html html) : html_(std::move(html)) {}
  const Html& html() const { return html_; }

 private:
  Html html_;
};

using Slots = std::initializer_list<std::pair<std::string_view, Value>>;

// "<p>{{name}}</p>": each {{slot}} is filled by render(). A slot that render()
// is not given renders empty; every page is rendered by the tests, which
// check what each shows.
class Template {
 public:
  explicit Template(std::string_view source);
  Html render(Slots slots) const;

 private:
  struct Part {
    std::string literal;  // markup before the slot
    std::string slot;     // "" after the last literal
  };
  std::vector<Part> parts_;
};

}  // namespace sunledger::web

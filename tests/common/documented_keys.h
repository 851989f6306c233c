#pragma once

// Checks an example config file against the key declarations of its schema,
// so that the file's comments and the code cannot drift apart:
//  - every key the file names is declared in its section;
//  - every declared key of a section the file shows appears in it with a
//    comment on its line (continued on the following comment-only lines
//    whose '#' stands in the same column); the top-level keys, which head the
//    parts of the file its header comment introduces, need not have one;
//  - a comment that states "default: X" agrees with the declared default
//    ("none" or "empty" for an empty one; durations and numbers compared by
//    value, so "60s" matches a declared 1m).
// The file is read as text, so keys shown in a commented-out example ("#
// systems:", "#   - name: web   # required") count as shown: a commented line
// is a key when it is "key:" alone or "key: value" followed by a comment (a
// line such as "#   exec: a command per directive" is prose). Each
// disagreement is one line of the result, naming the file line.

#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/config_schema.h"
#include "common/text.h"

namespace pso::testing {

class DocumentedKeys {
 public:
  DocumentedKeys(const std::string& path, std::vector<common::SectionDoc> sections)
      : path_(path), sections_(std::move(sections)) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
  }

  /// Every disagreement between the file and the declarations; empty when
  /// they agree.
  std::vector<std::string> problems() {
    problems_.clear();
    shown_.clear();
    scan();
    for (const common::SectionDoc& section : sections_) {
      auto shown = shown_.find(section.path);
      if (shown == shown_.end()) continue;
      for (const common::KeyDoc& key : section.keys)
        checkDocumented(section.path, key, shown->second);
    }
    return problems_;
  }

 private:
  // Where a key stands in the file: its 0-based line and its name's column.
  struct Place {
    int line;
    int column;
  };

  const common::SectionDoc* section(const std::string& path) const {
    for (const common::SectionDoc& s : sections_) {
      if (s.path == path) return &s;
    }
    return nullptr;
  }

  static const common::KeyDoc* key(const common::SectionDoc& section, const std::string& name) {
    for (const common::KeyDoc& k : section.keys) {
      if (k.name == name) return &k;
    }
    return nullptr;
  }

  std::string at(int line) const { return path_ + ":" + std::to_string(line + 1); }

  // A line as YAML: commented lines lose their "# ", so that a commented-out
  // example keeps its columns.
  std::string uncommented(std::size_t line, bool& commented) const {
    const std::string& text = lines_[line];
    commented = !text.empty() && text[0] == '#';
    if (!commented) return text;
    return text.size() > 1 && text[1] == ' ' ? text.substr(2) : text.substr(1);
  }

  void scan() {
    static const std::regex kKeyLine(R"(^( *)(- )?([a-z_][a-z0-9_]*):( +(.*))?$)");
    // The keys enclosing the current line: indentation and section path.
    struct Open {
      std::size_t indent;
      std::string path;  // empty for a key that is not a section
    };
    std::vector<Open> open;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      bool commented = false;
      const std::string line = uncommented(i, commented);
      std::smatch m;
      if (!std::regex_match(line, m, kKeyLine)) continue;
      const std::string value = m[5].str();
      const bool has_comment = value.rfind("# ", 0) == 0 || value.find(" # ") != std::string::npos;
      if (commented && !value.empty() && !has_comment) continue;  // prose
      const std::size_t indent = m[1].length() + m[2].length();
      const std::string name = m[3].str();
      while (!open.empty() && open.back().indent >= indent) open.pop_back();
      if (!open.empty() && open.back().path.empty()) continue;  // inside a value
      const std::string path = open.empty() ? "" : open.back().path;
      const common::SectionDoc* declared = section(path);
      const common::KeyDoc* k = declared == nullptr ? nullptr : key(*declared, name);
      if (k == nullptr) {
        problems_.push_back(at(i) + ": " + (path.empty() ? "" : path + ".") + name +
                            " is not declared");
        open.push_back(Open{indent, ""});
        continue;
      }
      shown_[path][name].push_back(Place{static_cast<int>(i), static_cast<int>(indent)});
      const bool is_section = std::string(k->type) == "section";
      open.push_back(Open{indent, is_section ? (path.empty() ? name : path + "." + name) : ""});
    }
  }

  // The comment of the key at `place`: its line's trailing comment and the
  // comment-only lines below it that continue it.
  std::optional<std::string> comment(const Place& place) const {
    bool commented = false;
    const std::string line = uncommented(place.line, commented);
    const std::size_t hash = line.find(" #", place.column);
    if (hash == std::string::npos) return std::nullopt;
    std::string text(common::trim(line.substr(hash + 2)));
    for (std::size_t next = place.line + 1; next < lines_.size(); ++next) {
      const std::string more = uncommented(next, commented);
      if (more.find_first_not_of(' ') != hash + 1 || more[hash + 1] != '#') break;
      text += " " + std::string(common::trim(more.substr(hash + 2)));
    }
    return text;
  }

  static std::string firstWord(const std::string& text) {
    std::string word = text.substr(0, text.find(' '));
    while (!word.empty() && (word.back() == ';' || word.back() == ',' || word.back() == ')')) {
      word.pop_back();
    }
    return word;
  }

  static bool sameDefault(const common::KeyDoc& key, const std::string& stated) {
    const std::string& declared = key.default_text;
    if (declared.empty()) return stated.rfind("none", 0) == 0 || stated.rfind("empty", 0) == 0;
    const std::string type = key.type;
    if (type == "duration") {
      auto a = common::parseDuration(firstWord(stated));
      auto b = common::parseDuration(declared);
      return a.ok() && b.ok() && *a == *b;
    }
    if (type == "number" || type == "integer") {
      auto a = common::parseDouble(firstWord(stated));
      auto b = common::parseDouble(declared);
      return a && b && *a == *b;
    }
    if (stated.rfind(declared, 0) != 0) return false;
    return stated.size() == declared.size() || stated[declared.size()] == ' ' ||
           stated[declared.size()] == ';';
  }

  void checkDocumented(const std::string& path, const common::KeyDoc& key,
                       const std::map<std::string, std::vector<Place>>& shown) {
    const std::string name = (path.empty() ? "" : path + ".") + key.name;
    auto places = shown.find(key.name);
    if (places == shown.end()) {
      problems_.push_back(path_ + ": " + name + " is declared but not shown");
      return;
    }
    bool documented = false;
    for (const Place& place : places->second) {
      std::optional<std::string> text = comment(place);
      if (!text) continue;
      documented = true;
      const std::size_t stated = text->find("default: ");
      if (stated == std::string::npos) continue;
      const std::string value = text->substr(stated + 9);
      if (!sameDefault(key, value)) {
        problems_.push_back(
            at(place.line) + ": " + name + " says default: " + value +
            ", declared: " + (key.default_text.empty() ? "(empty)" : key.default_text));
      }
    }
    if (!documented && !path.empty()) {
      problems_.push_back(at(places->second.front().line) + ": " + name + " has no comment");
    }
  }

  std::string path_;
  std::vector<common::SectionDoc> sections_;
  std::vector<std::string> lines_;
  std::vector<std::string> problems_;
  // Section path -> key -> where the file names it.
  std::map<std::string, std::map<std::string, std::vector<Place>>> shown_;
};

}  // namespace pso::testing

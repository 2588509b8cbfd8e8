// The reading layer under the spec parser: a JSON value that knows the path
// that reached it ("linux.namespaces[2].type"), with typed getters that fail
// with that path in the message. Absent and null members read the same, as
// Go's encoding/json (runc, containerd) treats them.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"

namespace berth::spec::detail {

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
struct IsStringMap : std::false_type {};
template <typename T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};

using StringMap = std::map<std::string, std::string>;

class JsonNode;

// The T of the Result<T> that a section parser returns.
template <typename Parse>
using ParsedType = std::remove_cvref_t<
    decltype(std::declval<std::invoke_result_t<Parse, const JsonNode&>&>().value())>;

class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string path)
      : value_(&value), path_(std::move(path)) {}

  const nlohmann::json& json() const { return *value_; }
  const std::string& path() const { return path_; }

  // "path: message" (just the message at the document's root).
  template <typename... Args>
  Error error(fmt::format_string<Args...> format, Args&&... args) const {
    return at_path(path_, fmt::format(format, std::forward<Args>(args)...));
  }
  // "path.key: message", for a problem found after key was read.
  template <typename... Args>
  Error error_at(std::string_view key, fmt::format_string<Args...> format, Args&&... args) const {
    return at_path(member_path(key), fmt::format(format, std::forward<Args>(args)...));
  }

  Status expect_object() const;
  Status expect_array() const;

  // This value as a string, bool, range-checked integer, or a vector or
  // string-keyed map of those.
  template <typename T>
  Result<T> as() const;

  std::optional<JsonNode> member(std::string_view key) const;

  // Members read with as<T>().
  template <typename T>
  Result<T> required(std::string_view key) const {
    auto node = member(key);
    if (!node) return error_at(key, "required");
    return node->as<T>();
  }
  template <typename T>
  Result<std::optional<T>> optional(std::string_view key) const {
    auto node = member(key);
    if (!node) return std::optional<T>{};
    return std::optional<T>(TRY_VALUE(node->as<T>()));
  }
  template <typename T>
  Result<T> value_or(std::string_view key, T fallback) const {
    auto node = member(key);
    if (!node) return fallback;
    return node->as<T>();
  }

  // Members read with a parser: parse(const JsonNode&) -> Result<T>.
  template <typename Parse>
  Result<ParsedType<Parse>> required(std::string_view key, Parse parse) const {
    auto node = member(key);
    if (!node) return error_at(key, "required");
    return parse(*node);
  }
  template <typename Parse>
  Result<std::optional<ParsedType<Parse>>> optional(std::string_view key, Parse parse) const {
    auto node = member(key);
    if (!node) return std::optional<ParsedType<Parse>>{};
    return std::optional<ParsedType<Parse>>(TRY_VALUE(parse(*node)));
  }
  // An array member parsed element by element; absent reads as empty.
  template <typename Parse>
  Result<std::vector<ParsedType<Parse>>> list(std::string_view key, Parse parse) const {
    std::vector<ParsedType<Parse>> out;
    auto node = member(key);
    if (!node) return out;
    TRY(node->expect_array());
    for (size_t i = 0; i < node->json().size(); ++i)
      out.push_back(TRY_VALUE(parse(node->element(i))));
    return out;
  }
  // An object member parsed value by value; absent reads as empty.
  template <typename Parse>
  Result<std::map<std::string, ParsedType<Parse>>> dict(std::string_view key, Parse parse) const {
    std::map<std::string, ParsedType<Parse>> out;
    auto node = member(key);
    if (!node) return out;
    TRY(node->expect_object());
    for (const auto& [name, value] : node->json().items())
      out.emplace(name, TRY_VALUE(parse(node->value_of(name, value))));
    return out;
  }

 private:
  static Error at_path(const std::string& path, const std::string& message);
  std::string member_path(std::string_view key) const;
  JsonNode element(size_t index) const;
  // A map entry: path["key"], since keys such as annotations' contain dots.
  JsonNode value_of(const std::string& key, const nlohmann::json& value) const;

  Result<std::string> as_string() const;
  Result<bool> as_bool() const;
  Result<uint64_t> as_unsigned(uint64_t max) const;
  Result<int64_t> as_signed(int64_t min, int64_t max) const;

  const nlohmann::json* value_;
  std::string path_;
};

template <typename T>
Result<T> JsonNode::as() const {
  if constexpr (std::is_same_v<T, std::string>) {
    return as_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    return as_bool();
  } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
    return static_cast<T>(TRY_VALUE(as_unsigned(std::numeric_limits<T>::max())));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(
        TRY_VALUE(as_signed(std::numeric_limits<T>::min(), std::numeric_limits<T>::max())));
  } else if constexpr (IsVector<T>::value) {
    TRY(expect_array());
    T out;
    for (size_t i = 0; i < value_->size(); ++i)
      out.push_back(TRY_VALUE(element(i).template as<typename T::value_type>()));
    return out;
  } else {
    static_assert(IsStringMap<T>::value, "no JSON conversion for this type");
    TRY(expect_object());
    T out;
    for (const auto& [key, value] : value_->items())
      out.emplace(key, TRY_VALUE(value_of(key, value).template as<typename T::mapped_type>()));
    return out;
  }
}

// A name from a fixed table ("SCMP_ACT_ERRNO" -> SeccompAction::Errno).
template <typename Value>
struct Named {
  std::string_view name;
  Value value;
};

// Reads node as a string naming one of table's entries; otherwise fails
// with `unknown <what> "<name>"`.
template <typename Table>
auto lookup(const JsonNode& node, const Table& table, std::string_view what)
    -> Result<decltype(std::begin(table)->value)> {
  std::string name = TRY_VALUE(node.as<std::string>());
  for (const auto& entry : table)
    if (entry.name == name) return entry.value;
  return node.error("unknown {} \"{}\"", what, name);
}

template <typename Table, typename Value>
const char* name_in(const Table& table, Value value) {
  for (const auto& entry : table)
    if (entry.value == value) return entry.name.data();
  return "unknown";
}

}  // namespace berth::spec::detail

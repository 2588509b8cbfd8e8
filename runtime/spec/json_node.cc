#include "spec/json_node.h"

namespace berth::spec::detail {

Error JsonNode::at_path(const std::string& path, const std::string& message) {
  if (path.empty()) return Error(message);
  return make_error("{}: {}", path, message);
}

std::string JsonNode::member_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return fmt::format("{}.{}", path_, key);
}

JsonNode JsonNode::element(size_t index) const {
  return JsonNode((*value_)[index], fmt::format("{}[{}]", path_, index));
}

JsonNode JsonNode::value_of(const std::string& key, const nlohmann::json& value) const {
  return JsonNode(value, fmt::format("{}[\"{}\"]", path_, key));
}

std::optional<JsonNode> JsonNode::member(std::string_view key) const {
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonNode(*it, member_path(key));
}

Status JsonNode::expect_object() const {
  if (!value_->is_object()) return error("expected an object, got {}", value_->type_name());
  return ok();
}

Status JsonNode::expect_array() const {
  if (!value_->is_array()) return error("expected an array, got {}", value_->type_name());
  return ok();
}

Result<std::string> JsonNode::as_string() const {
  if (!value_->is_string()) return error("expected a string, got {}", value_->type_name());
  return value_->get<std::string>();
}

Result<bool> JsonNode::as_bool() const {
  if (!value_->is_boolean()) return error("expected a boolean, got {}", value_->type_name());
  return value_->get<bool>();
}

// Integers must be written as integers: Go's encoding/json rejects 1.0 for
// an integer field too, so a document runc accepts is accepted here.
Result<uint64_t> JsonNode::as_unsigned(uint64_t max) const {
  if (!value_->is_number())
    return error("expected an unsigned integer, got {}", value_->type_name());
  if (value_->is_number_float() || (!value_->is_number_unsigned() && value_->get<int64_t>() < 0))
    return error("expected an unsigned integer, got {}", value_->dump());
  // Documents built in code hold non-negative integers as signed numbers.
  uint64_t value = value_->is_number_unsigned() ? value_->get<uint64_t>()
                                                : static_cast<uint64_t>(value_->get<int64_t>());
  if (value > max) return error("{} is out of range (at most {})", value, max);
  return value;
}

Result<int64_t> JsonNode::as_signed(int64_t min, int64_t max) const {
  if (!value_->is_number()) return error("expected an integer, got {}", value_->type_name());
  if (value_->is_number_float()) return error("expected an integer, got {}", value_->dump());
  if (value_->is_number_unsigned() &&
      value_->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return error("{} is out of range ({} to {})", value_->dump(), min, max);
  int64_t value = value_->get<int64_t>();
  if (value < min || value > max) return error("{} is out of range ({} to {})", value, min, max);
  return value;
}

}  // namespace berth::spec::detail

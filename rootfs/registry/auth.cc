#include "rootfs/registry/auth.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "rootfs/registry/base64.h"

namespace berth::registry {
namespace {

void skip_space(std::string_view text, size_t& at) {
  while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == ',')) ++at;
}

std::string read_token(std::string_view text, size_t& at) {
  size_t begin = at;
  while (at < text.size() && text[at] != ' ' && text[at] != '\t' && text[at] != ',' && text[at] != '=') ++at;
  return std::string(text.substr(begin, at - begin));
}

std::string read_quoted(std::string_view text, size_t& at) {
  std::string value;
  for (++at; at < text.size() && text[at] != '"'; ++at) {
    if (text[at] == '\\' && at + 1 < text.size()) ++at;
    value += text[at];
  }
  ++at;  // the closing quote
  return value;
}

std::string scopes_key(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  std::string key;
  for (const std::string& scope : scopes) key += scope + " ";
  return key;
}

std::string string_field(const nlohmann::json& object, const char* name) {
  auto field = object.find(name);
  return field != object.end() && field->is_string() ? field->get<std::string>() : "";
}

std::string basic_header(const Credentials& credentials) {
  return "Authorization: Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

}  // namespace

std::vector<Challenge> parse_challenges(std::string_view header) {
  std::vector<Challenge> challenges;
  size_t at = 0;
  while (true) {
    skip_space(header, at);
    if (at >= header.size()) break;
    std::string word = read_token(header, at);
    if (at < header.size() && header[at] == '=') {
      // name=value of the current challenge
      ++at;
      std::string value = at < header.size() && header[at] == '"' ? read_quoted(header, at) : read_token(header, at);
      if (!challenges.empty()) challenges.back().params[to_lower(word)] = value;
    } else if (!word.empty()) {
      challenges.push_back(Challenge{.scheme = to_lower(word)});
    } else {
      ++at;
    }
  }
  return challenges;
}

std::string repository_scope(std::string_view repository, std::string_view actions) {
  return fmt::format("repository:{}:{}", repository, actions);
}

std::string Authenticator::authorization(const std::vector<std::string>& scopes) const {
  if (challenge_.scheme == "basic" && credentials_) return basic_header(*credentials_);
  if (challenge_.scheme == "bearer") {
    auto token = tokens_.find(scopes_key(scopes));
    if (token != tokens_.end()) return "Authorization: Bearer " + token->second;
  }
  return "";
}

Status Authenticator::answer(const Response& unauthorized, const std::vector<std::string>& scopes,
                             const Http& http) {
  std::vector<Challenge> challenges = parse_challenges(unauthorized.header("www-authenticate"));
  auto bearer = std::find_if(challenges.begin(), challenges.end(),
                             [](const Challenge& c) { return c.scheme == "bearer"; });
  auto basic = std::find_if(challenges.begin(), challenges.end(),
                            [](const Challenge& c) { return c.scheme == "basic"; });
  if (bearer != challenges.end()) {
    challenge_ = *bearer;
    std::vector<std::string> wanted = scopes;
    // An insufficient_scope answer names the scope it wants.
    if (auto scope = challenge_.params.find("scope"); scope != challenge_.params.end()) {
      if (std::find(wanted.begin(), wanted.end(), scope->second) == wanted.end()) wanted.push_back(scope->second);
    }
    std::string token = TRY_VALUE(fetch_token(wanted, http));
    tokens_[scopes_key(scopes)] = token;
    return ok();
  }
  if (basic != challenges.end()) {
    // No credentials to give, or the ones we sent were refused.
    if (!credentials_ || challenge_.scheme == "basic") return Error(registry_error(unauthorized), EACCES);
    challenge_ = *basic;
    return ok();
  }
  return Error(fmt::format("{} (no Basic or Bearer challenge in WWW-Authenticate: \"{}\")",
                           registry_error(unauthorized), unauthorized.header("www-authenticate")),
               EACCES);
}

Result<std::string> Authenticator::fetch_token(const std::vector<std::string>& scopes, const Http& http) const {
  auto realm = challenge_.params.find("realm");
  if (realm == challenge_.params.end() || realm->second.empty()) {
    return make_error("the registry's Bearer challenge names no realm");
  }
  std::string service = challenge_.params.contains("service") ? challenge_.params.at("service") : "";
  Request request{.url = realm->second};
  if (credentials_ && !credentials_->identity_token.empty()) {
    // OAuth2 refresh-token grant, as Docker does with an identity token.
    request.method = "POST";
    request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    request.body = "grant_type=refresh_token&client_id=berth&refresh_token=" +
                   url_encode(credentials_->identity_token) + "&service=" + url_encode(service);
    for (const std::string& scope : scopes) request.body += "&scope=" + url_encode(scope);
  } else {
    std::string query = "service=" + url_encode(service);
    for (const std::string& scope : scopes) query += "&scope=" + url_encode(scope);
    request.url += (request.url.find('?') == std::string::npos ? "?" : "&") + query;
    if (credentials_) {
      request.headers.push_back(basic_header(*credentials_));
      request.url += "&account=" + url_encode(credentials_->username);
    }
  }
  request.max_body = 1 << 20;
  Response response = TRY_VALUE(http.perform(request));
  if (response.status != 200) {
    int kind = response.status == 401 || response.status == 403 ? EACCES : EIO;
    return Error(fmt::format("get a token from {}: {}", realm->second, registry_error(response)), kind);
  }
  nlohmann::json document = nlohmann::json::parse(response.body, nullptr, false);
  if (document.is_object()) {
    for (const char* field : {"token", "access_token"}) {
      if (document.contains(field) && document[field].is_string() && !document[field].get<std::string>().empty()) {
        return document[field].get<std::string>();
      }
    }
  }
  return make_error("get a token from {}: the answer has no \"token\" or \"access_token\"", realm->second);
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string registry_error(const Response& response) {
  nlohmann::json document = nlohmann::json::parse(response.body, nullptr, false);
  std::vector<std::string> messages;
  if (document.is_object() && document.contains("errors") && document["errors"].is_array()) {
    for (const auto& error : document["errors"]) {
      if (!error.is_object()) continue;
      std::string code = string_field(error, "code");
      std::string message = string_field(error, "message");
      messages.push_back(to_lower(code) + (message.empty() ? "" : ": " + message));
    }
  } else if (document.is_object() && document.contains("details") && document["details"].is_string()) {
    // Docker Hub's token endpoint: {"details":"incorrect username or password"}
    messages.push_back("unauthorized: " + document["details"].get<std::string>());
  }
  if (messages.empty()) return fmt::format("HTTP {} from {}", response.status, response.url);
  std::string joined = messages.front();
  for (size_t i = 1; i < messages.size(); ++i) joined += "; " + messages[i];
  return joined;
}

}  // namespace berth::registry

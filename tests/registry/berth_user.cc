#include "berth_user.h"

#include <unistd.h>

#include <filesystem>

#include "support/files.h"

namespace berth::test {

using nlohmann::json;

std::string base64(const std::string& text) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(text[i]) << 16;
    if (i + 1 < text.size()) n |= static_cast<uint8_t>(text[i + 1]) << 8;
    if (i + 2 < text.size()) n |= static_cast<uint8_t>(text[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < text.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < text.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

BerthUser::BerthUser() : dir_("berth-registry-user") {
  std::filesystem::create_directories(home() + "/.docker");
  std::filesystem::create_directories(dir_.path() + "/etc");
}

ProcessResult BerthUser::berth(std::vector<std::string> args, const std::string& input) const {
  std::vector<std::string> argv = {BERTH_BINARY, "--root", root(), "--registries-config", registries_config()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = 120s;
  options.env = {"HOME=" + home(), "DOCKER_CONFIG="};
  UniqueFd stdin_fd;
  if (!input.empty()) {
    stdin_fd = make_memfd("stdin");
    if (::write(stdin_fd.get(), input.data(), input.size()) != static_cast<ssize_t>(input.size()) ||
        ::lseek(stdin_fd.get(), 0, SEEK_SET) != 0) {
      throw std::runtime_error("write the stdin memfd");
    }
    options.stdin_fd = stdin_fd.get();
  }
  return run_process(argv, options);
}

BackgroundProcess BerthUser::berth_in_background(std::vector<std::string> args) const {
  std::vector<std::string> argv = {BERTH_BINARY, "--root", root(), "--registries-config", registries_config()};
  argv.insert(argv.end(), args.begin(), args.end());
  return BackgroundProcess::start(argv, {.env = {"HOME=" + home(), "DOCKER_CONFIG="}, .die_with_parent = true});
}

void BerthUser::log_in(const RegistryServer& registry) const {
  json config = {{"auths", {{registry.host(), {{"auth", base64(registry.username() + ":" + registry.password())}}}}}};
  write_file(docker_config(), config.dump(), 0600);
}

void BerthUser::trust(const RegistryServer& registry) const {
  std::string dir = dir_.path() + "/etc/certs.d/" + registry.host();
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(registry.ca_file(), dir + "/ca.crt");
}

void BerthUser::configure(const json& registries) const { write_file(registries_config(), registries.dump()); }

std::string BerthUser::store_listing() const {
  std::string listing;
  if (!std::filesystem::exists(root())) return listing;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root())) {
    std::string path = entry.path().string().substr(root().size());
    if (path.starts_with("/containers") || path == "/store.lock") continue;
    if (entry.is_directory() && std::filesystem::is_empty(entry.path())) continue;
    listing += path + "\n";
  }
  if (std::filesystem::exists(root() + "/repositories.json")) listing += read_file(root() + "/repositories.json");
  return listing;
}

void RegistryWithImage::SetUp() {
  registry_.emplace(RegistryServer::start(GetParam()));
  layout_ = make_oci_layout(layouts_.path() + "/one", "v1");
  ASSERT_TRUE(skopeo_push(*registry_, layout_.dir, layout_.tag, "team/app:v1", registry_->credentials()).succeeded());
  if (registry_->tls()) user_.trust(*registry_);
  if (registry_->credentials()) user_.log_in(*registry_);
}

}  // namespace berth::test

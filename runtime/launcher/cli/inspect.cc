#include <memory>

#include "container/container.h"
#include "core/files.h"
#include "launcher/cli/commands.h"
#include "launcher/records.h"

namespace berth::launcher_cli {
namespace {

using nlohmann::json;

// Docker's NetworkSettings, for a bridge container while it runs.
json network_settings(const launcher::ContainerRecord& record, bool live) {
  json ports = json::object();
  json settings = {{"Bridge", ""}, {"IPAddress", ""}, {"Gateway", ""}, {"IPPrefixLen", 0}};
  if (live && record.network == "bridge") {
    for (const network::PortMapping& mapping : record.ports) {
      std::string key = fmt::format("{}/{}", mapping.container_port, to_string(mapping.protocol));
      if (!ports.contains(key)) ports[key] = json::array();
      ports[key].push_back({{"HostIp", mapping.host_ip ? mapping.host_ip->to_string() : "0.0.0.0"},
                            {"HostPort", std::to_string(mapping.host_port)}});
    }
    settings = {{"Bridge", record.bridge},
                {"IPAddress", record.ip_address},
                {"Gateway", record.gateway},
                {"IPPrefixLen", record.prefix_length}};
  }
  settings["Ports"] = ports;
  return settings;
}

json describe_container(const launcher::ContainerRecords& records,
                        const launcher::ContainerRecord& record) {
  launcher::RecordStatus status = records.status(record);
  json state = {{"Status", launcher::to_string(status)},
                {"Running", status == launcher::RecordStatus::Running},
                {"Paused", status == launcher::RecordStatus::Paused},
                {"StartedAt", record.started},
                {"FinishedAt", record.finished}};
  state["ExitCode"] = record.exit_code ? json(*record.exit_code) : json(nullptr);
  state["Pid"] = 0;
  if (status == launcher::RecordStatus::Running || status == launcher::RecordStatus::Paused)
    if (auto runtime = container::container_state(records.state_root(), record.id))
      state["Pid"] = runtime->pid;
  json config = json::object();
  if (auto text = read_file(records.dir(record.id) + "/config.json")) {
    json spec = json::parse(text.value(), nullptr, false);
    if (!spec.is_discarded()) config = spec;
  }
  return {
      {"Id", record.id},
      {"Name", "/" + record.name},
      {"Created", record.created},
      {"Path", record.command.empty() ? "" : record.command[0]},
      {"Args", record.command.size() > 1 ? json(std::vector<std::string>(record.command.begin() + 1,
                                                                         record.command.end()))
                                         : json::array()},
      {"State", state},
      {"Image", record.image_id},
      {"Config", {{"Image", record.image}, {"Tty", record.tty}, {"Hostname", record.hostname}}},
      {"HostConfig", {{"NetworkMode", record.network}}},
      {"NetworkSettings", network_settings(record, status == launcher::RecordStatus::Running ||
                                                       status == launcher::RecordStatus::Paused)},
      {"Mounts", record.mounts},
      {"GraphDriver",
       {{"Name", "overlay"},
        {"Data",
         {{"UpperDir", records.dir(record.id) + "/upper"},
          {"WorkDir", records.dir(record.id) + "/work"},
          {"MergedDir", records.dir(record.id) + "/rootfs"}}}}},
      {"OciSpec", config}};
}

json describe_image(const image::Store& store, const image::Image& image) {
  std::vector<std::string> layer_dirs;
  for (const std::string& layer : image.layers) layer_dirs.push_back(store.layer_dir(layer));
  return {{"Id", image.id},
          {"RepoTags", image.tags},
          {"RepoDigests", image.repo_digests},
          {"Created", image.config.value("created", "")},
          {"Architecture", image.config.value("architecture", "")},
          {"Os", image.config.value("os", "")},
          {"Size", image.size},
          {"Config", image.config.value("config", json::object())},
          {"RootFS", {{"Type", "layers"}, {"Layers", image.layers}}},
          {"GraphDriver", {{"Name", "overlay"}, {"Data", {{"LowerDirs", layer_dirs}}}}}};
}

}  // namespace

Command register_inspect(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command =
      app.add_subcommand("inspect", "Return low-level information on containers or images");
  auto names = std::make_shared<std::vector<std::string>>();
  command->add_option("name", *names, "container (name or id) or image")->required();
  return {command, [&globals, names]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto records = TRY_VALUE(launcher::ContainerRecords::open(globals.root));
            json out = json::array();
            for (const std::string& name : *names) {
              if (auto record = records.find(name)) {
                out.push_back(describe_container(records, record.value()));
                continue;
              }
              auto image = store.find_image(name);
              if (!image) return make_error("no such object: {}", name);
              out.push_back(describe_image(store, image.value()));
            }
            fmt::print("{}\n", out.dump(4));
            return 0;
          }};
}

}  // namespace berth::launcher_cli

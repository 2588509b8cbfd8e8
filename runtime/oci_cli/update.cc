#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "oci_cli/commands.h"
#include "core/files.h"
#include "spec/resources.h"

namespace berth::oci_cli {
namespace {

struct UpdateFlags {
  std::string id;
  std::string resources_file;
  uint16_t blkio_weight = 0;
  uint64_t cpu_period = 0, cpu_rt_period = 0, cpu_share = 0;
  int64_t cpu_quota = 0, cpu_rt_runtime = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::string memory, memory_reservation, memory_swap, kernel_memory, kernel_memory_tcp;
  int64_t pids_limit = 0;
  std::string l3_cache_schema, mem_bw_schema;
};

// runc's memory values: "-1" (unlimited), bytes, or a number with a binary
// unit (k, m, g, t, p, optionally followed by b; any case), as Docker's
// units.RAMInBytes reads them.
Result<int64_t> parse_memory_value(const std::string& flag, const std::string& text) {
  if (text == "-1") return -1;
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || number < 0)
    return make_error("--{} {}: not a size in bytes", flag, text);
  std::string unit(end);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() == 2 && unit[1] == 'b') unit.pop_back();
  static const std::string kUnits = "bkmgtp";
  size_t power = unit.empty() ? 0 : kUnits.find(unit);
  if (unit.size() > 1 || power == std::string::npos)
    return make_error("--{} {}: unknown unit \"{}\" (b, k, m, g, t, p)", flag, text,
                      std::string(end));
  return static_cast<int64_t>(number * std::pow(1024.0, static_cast<double>(power)));
}

Result<spec::Resources> resources_from_file(const std::string& file) {
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    text = TRY_VALUE(read_file(file));
  }
  std::string name = file == "-" ? "standard input" : file;
  nlohmann::json document = nlohmann::json::parse(text, nullptr, false);
  if (document.is_discarded()) return make_error("--resources {}: not valid JSON", name);
  return spec::parse_resources(document, name);
}

Result<spec::Resources> resources_from_flags(const CLI::App& command, const UpdateFlags& flags) {
  auto given = [&](const char* name) { return command.count(std::string("--") + name) > 0; };
  if (given("l3-cache-schema") || given("mem-bw-schema"))
    return make_error("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported");
  spec::Resources r;
  if (given("blkio-weight")) r.block_io.emplace().weight = flags.blkio_weight;
  auto cpu = [&]() -> spec::CpuResources& { return r.cpu ? *r.cpu : r.cpu.emplace(); };
  if (given("cpu-period")) cpu().period = flags.cpu_period;
  if (given("cpu-quota")) cpu().quota = flags.cpu_quota;
  if (given("cpu-share")) cpu().shares = flags.cpu_share;
  if (given("cpu-rt-period")) cpu().realtime_period = flags.cpu_rt_period;
  if (given("cpu-rt-runtime")) cpu().realtime_runtime = flags.cpu_rt_runtime;
  if (given("cpuset-cpus")) cpu().cpus = flags.cpuset_cpus;
  if (given("cpuset-mems")) cpu().mems = flags.cpuset_mems;
  auto memory = [&]() -> spec::MemoryResources& {
    return r.memory ? *r.memory : r.memory.emplace();
  };
  if (given("memory")) memory().limit = TRY_VALUE(parse_memory_value("memory", flags.memory));
  if (given("memory-reservation"))
    memory().reservation =
        TRY_VALUE(parse_memory_value("memory-reservation", flags.memory_reservation));
  if (given("memory-swap"))
    memory().swap = TRY_VALUE(parse_memory_value("memory-swap", flags.memory_swap));
  if (given("kernel-memory"))
    memory().kernel = TRY_VALUE(parse_memory_value("kernel-memory", flags.kernel_memory));
  if (given("kernel-memory-tcp"))
    memory().kernel_tcp =
        TRY_VALUE(parse_memory_value("kernel-memory-tcp", flags.kernel_memory_tcp));
  // runc: a pids limit of 0 leaves the current one.
  if (flags.pids_limit != 0) r.pids = spec::PidsResources{flags.pids_limit};
  return r;
}

}  // namespace

Command register_update(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand(
      "update", "update container resource constraints (--resources FILE, or the flags)");
  auto flags = std::make_shared<UpdateFlags>();
  command->add_option("-r,--resources", flags->resources_file,
                      "path to the file containing the resources to update or '-' to read from "
                      "the standard input");
  command->add_option("--blkio-weight", flags->blkio_weight,
                      "Specifies per cgroup weight, range is from 10 to 1000");
  command->add_option("--cpu-period", flags->cpu_period,
                      "CPU CFS period to be used for hardcapping (in usecs). 0 to use system "
                      "default");
  command->add_option("--cpu-quota", flags->cpu_quota,
                      "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period");
  command->add_option("--cpu-share", flags->cpu_share,
                      "CPU shares (relative weight vs. other containers)");
  command->add_option("--cpu-rt-period", flags->cpu_rt_period,
                      "CPU realtime period (not on cgroup v2: refused)");
  command->add_option("--cpu-rt-runtime", flags->cpu_rt_runtime,
                      "CPU realtime hardcap limit (not on cgroup v2: refused)");
  command->add_option("--cpuset-cpus", flags->cpuset_cpus, "CPU(s) to use");
  command->add_option("--cpuset-mems", flags->cpuset_mems, "Memory node(s) to use");
  command->add_option("--kernel-memory", flags->kernel_memory, "(obsoleted; do not use)");
  command->add_option("--kernel-memory-tcp", flags->kernel_memory_tcp, "(obsoleted; do not use)");
  command->add_option("--memory", flags->memory, "Memory limit (in bytes)");
  command->add_option("--memory-reservation", flags->memory_reservation,
                      "Memory reservation or soft_limit (in bytes)");
  command->add_option("--memory-swap", flags->memory_swap,
                      "Total memory usage (memory + swap); set '-1' to enable unlimited swap");
  command->add_option("--pids-limit", flags->pids_limit,
                      "Maximum number of pids allowed in the container");
  command->add_option("--l3-cache-schema", flags->l3_cache_schema,
                      "The string of Intel RDT/CAT L3 cache schema (not supported)");
  command->add_option("--mem-bw-schema", flags->mem_bw_schema,
                      "The string of Intel RDT/MBA memory bandwidth schema (not supported)");
  command->add_option("container-id", flags->id, "the name of the container")->required();
  return {command, [&globals, flags, command]() -> CommandResult {
            // As runc: with --resources, the file is the whole update and
            // the other flags are not read.
            spec::Resources changes = flags->resources_file.empty()
                                          ? TRY_VALUE(resources_from_flags(*command, *flags))
                                          : TRY_VALUE(resources_from_file(flags->resources_file));
            TRY(container::update_container(globals.root, flags->id, changes));
            return 0;
          }};
}

}  // namespace berth::oci_cli

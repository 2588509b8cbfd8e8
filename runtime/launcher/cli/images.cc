#include <algorithm>

#include "launcher/cli/commands.h"

namespace berth::launcher_cli {
namespace {

struct Row {
  std::string repository;
  std::string tag;
  std::string digest;  // of the repository's manifest, "<none>" when unknown
};

// One row per tag, with the digest the image has in that tag's repository
// (Docker's DIGEST column); a repo digest of a repository no tag names
// gets a row of its own with tag <none>, as in Docker.
std::vector<Row> rows_of(const image::Image& image) {
  std::vector<Row> rows;
  auto digest_in = [&](const std::string& repository) -> std::string {
    for (const std::string& repo_digest : image.repo_digests)
      if (repo_digest.substr(0, repo_digest.find('@')) == repository)
        return repo_digest.substr(repo_digest.find('@') + 1);
    return "<none>";
  };
  for (const std::string& tag : image.tags) {
    size_t colon = tag.rfind(':');
    rows.push_back({tag.substr(0, colon), tag.substr(colon + 1), digest_in(tag.substr(0, colon))});
  }
  for (const std::string& repo_digest : image.repo_digests) {
    std::string repository = repo_digest.substr(0, repo_digest.find('@'));
    bool tagged = std::any_of(rows.begin(), rows.end(), [&](const Row& row) { return row.repository == repository; });
    if (!tagged) rows.push_back({repository, "<none>", repo_digest.substr(repo_digest.find('@') + 1)});
  }
  if (rows.empty()) rows.push_back({"<none>", "<none>", "<none>"});
  return rows;
}

void print_header(bool digests) {
  fmt::print("{:<30} {:<15} ", "REPOSITORY", "TAG");
  if (digests) fmt::print("{:<71} ", "DIGEST");
  fmt::print("{:<14} {:<16} {}\n", "IMAGE ID", "CREATED", "SIZE");
}

}  // namespace

Command register_images(CLI::App& app, const GlobalOptions& globals) {
  CLI::App* command = app.add_subcommand("images", "List images");
  auto quiet = std::make_shared<bool>(false);
  auto no_trunc = std::make_shared<bool>(false);
  auto digests = std::make_shared<bool>(false);
  command->add_flag("-q,--quiet", *quiet, "Only show image IDs");
  command->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
  command->add_flag("--digests", *digests, "Show digests");
  return {command, [&globals, quiet, no_trunc, digests]() -> CommandResult {
            auto store = TRY_VALUE(image::Store::open(globals.root));
            auto images = TRY_VALUE(store.list_images());
            if (!*quiet) print_header(*digests);
            for (const image::Image& image : images) {
              std::string short_id = *no_trunc ? image.id : image.id.substr(7, 12);
              if (*quiet) {
                fmt::print("{}\n", short_id);
                continue;
              }
              for (const Row& row : rows_of(image)) {
                std::string created = human_since(image.config.value("created", image.imported));
                fmt::print("{:<30} {:<15} ", row.repository, row.tag);
                if (*digests) fmt::print("{:<71} ", row.digest);
                fmt::print("{:<14} {:<16} {}\n", short_id, created, human_size(image.size));
              }
            }
            return 0;
          }};
}

}  // namespace berth::launcher_cli

// Small file helpers for the tests: whole files read and written, paths,
// directory listings and snapshots, text split into lines.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

namespace berth::test {

// The whole file ("" if it cannot be read).
std::string read_file(const std::string& path);
// Creates or truncates path; its mode is exactly mode (not filtered by the
// umask). Throws std::runtime_error if it cannot.
void write_file(const std::string& path, const std::string& content, mode_t mode = 0644);
bool path_exists(const std::string& path);  // lstat: dangling links count
// mkdir -p, then chmod of the last one. Throws std::runtime_error if it cannot.
void make_dirs(const std::string& path, mode_t mode = 0755);
// mkdir (an existing one is fine) and chmod: mkdir's mode is filtered by
// the umask and drops sticky bits. Throws std::runtime_error if it cannot.
void make_dir(const std::string& path, mode_t mode);
// The names in a directory, sorted, without . and .. (empty if it does not exist).
std::vector<std::string> list_dir(const std::string& path);
// Every path under root (relative, sorted), with type and size, so two
// snapshots compare equal only if nothing under root changed.
std::set<std::string> snapshot_tree(const std::string& root);

std::string random_hex(size_t length);
// The lines of text, without their newlines.
std::vector<std::string> split_lines(const std::string& text);
// "CapEff:\t0000..." -> "0000..." for /proc/<pid>/status and the like.
std::string status_field(const std::string& status_text, const std::string& name);

}  // namespace berth::test

// The hot paths of nft.h over nf_tables' netlink interface (libnftnl builds
// and parses the messages, libmnl carries them): the table's existence and
// the elements of its four port maps. nft_netlink.h says why not through
// libnftables.
//
// The maps' binary layout, as nft 1.0.6 writes it (nft --debug=netlink):
//   tcp_any, udp_any   key  inet_service: the port, 2 bytes, network order
//   tcp_addr, udp_addr key  ipv4_addr . inet_service: 8 bytes
//   all four           data ipv4_addr . inet_service: 8 bytes
// A concatenation pads each field to 4 bytes: address (network order),
// port (network order), 2 zero bytes.
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <functional>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "core/c_handle.h"
#include "launcher/network/conntrack.h"
#include "launcher/network/netfilter_socket.h"
#include "launcher/network/nft.h"
#include "launcher/network/nft_netlink.h"

namespace berth::network {

namespace {

using NftnlTable = CHandle<nftnl_table, nftnl_table_free>;
using NftnlSet = CHandle<nftnl_set, nftnl_set_free>;
using NftnlElement = CHandle<nftnl_set_elem, nftnl_set_elem_free>;
using NftnlIterator = CHandle<nftnl_set_elems_iter, nftnl_set_elems_iter_destroy>;

using OnMessage = std::function<Status(const nlmsghdr*)>;

// Messages of one nfnetlink batch (one transaction), each built in place.
class Batch {
 public:
  explicit Batch(uint32_t seq) {
    nftnl_batch_begin(room(), seq);
    commit();
  }
  // Space for the next message, which no message of ours comes near.
  char* room() {
    buffer_.resize(used_ + MNL_SOCKET_BUFFER_SIZE);
    return buffer_.data() + used_;
  }
  // Takes the message just built in room().
  void commit() { used_ += reinterpret_cast<nlmsghdr*>(buffer_.data() + used_)->nlmsg_len; }
  void end(uint32_t seq) {
    nftnl_batch_end(room(), seq);
    commit();
  }
  const char* data() const { return buffer_.data(); }
  size_t size() const { return used_; }

 private:
  std::vector<char> buffer_;
  size_t used_ = 0;
};

// A NETLINK_NETFILTER socket in the calling thread's netns.
class NfSocket {
  static thread_local std::optional<NfSocket> kept_;
  static thread_local std::pair<dev_t, ino_t> kept_netns_;

 public:
  // The calling thread's socket for the netns it is in. Sockets are kept,
  // like nft.cc's libnftables context and for the same reason: closing one
  // after a transaction that deleted elements waits for the kernel's
  // deferred release of that transaction (measured 7-15 ms). A kept socket
  // pins its netns, so the netns's inode cannot be reused while it is the key.
  static Result<NfSocket*> for_this_netns() {
    std::pair<dev_t, ino_t> current = TRY_VALUE(detail::this_netns());
    if (!kept_ || kept_netns_ != current) {
      kept_.reset();
      auto socket = open_netfilter_socket("a netlink socket");
      if (!socket) return socket.error().add_context("nftables");
      kept_.emplace(std::move(*socket));
      kept_netns_ = current;
    }
    return &*kept_;
  }

  // After a transaction that deleted elements, the socket's last close
  // waits for the kernel's deferred release of them (an RCU grace period:
  // 5-17 ms here), and a process's exit closes it. The deletion itself is
  // done and visible; so the last reference goes to a detached grandchild
  // that closes it, and berth's own close and exit do not wait. The
  // grandchild holds nothing else: no lock, no stdio.
  static void close_in_background() {
    if (!kept_) return;
    int fd = mnl_socket_get_fd(kept_->socket_.get());
    int gate[2];  // the grandchild closes the socket once we have: ours must not be the last
    if (::pipe2(gate, O_CLOEXEC) < 0) {
      kept_.reset();  // waits: slower, not wrong
      return;
    }
    pid_t child = ::fork();
    if (child == 0) {
      // Keep only the socket and the gate's read end.
      int keep_low = std::min(fd, gate[0]), keep_high = std::max(fd, gate[0]);
      if (keep_low > 0) ::close_range(0, static_cast<unsigned>(keep_low) - 1, 0);
      if (keep_high - keep_low > 1)
        ::close_range(static_cast<unsigned>(keep_low) + 1, static_cast<unsigned>(keep_high) - 1, 0);
      ::close_range(static_cast<unsigned>(keep_high) + 1, ~0U, 0);
      if (::fork() == 0) {
        char byte;
        while (::read(gate[0], &byte, 1) < 0 && errno == EINTR) {
        }
        ::close(fd);
        ::_exit(0);
      }
      ::_exit(0);
    }
    ::close(gate[0]);
    if (child > 0)
      while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
      }
    kept_.reset();     // not the last reference if the grandchild runs: quick
    ::close(gate[1]);  // and now the grandchild's close is the last
  }

  explicit NfSocket(MnlSocket socket)
      : socket_(std::move(socket)),
        portid_(mnl_socket_get_portid(socket_.get())),
        seq_(static_cast<uint32_t>(time(nullptr))) {}

  uint32_t next_seq() { return ++seq_; }

  // conntrack.h's flush over this socket: ctnetlink is another subsystem
  // of the same netlink protocol.
  Status flush_udp_conntrack(const std::vector<uint16_t>& ports) {
    drain();
    return network::flush_udp_conntrack(socket_.get(), ports);
  }

  // Sends one request and reads its replies until the ack or the dump's
  // end, handing each data message to `on_message` (if any). A refusal by
  // the kernel comes back as an Error carrying its errno.
  Status talk(const nlmsghdr* request, const OnMessage& on_message, const std::string& what) {
    drain();
    if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0)
      return sys_error("{}: send to nf_tables", what);
    Callback callback{&on_message, ok()};
    for (;;) {
      ssize_t length = mnl_socket_recvfrom(socket_.get(), buffer_.data(), buffer_.size());
      if (length < 0) return sys_error("{}: receive from nf_tables", what);
      int result = mnl_cb_run(buffer_.data(), length, request->nlmsg_seq, portid_,
                              on_message ? run_callback : nullptr, &callback);
      if (result == MNL_CB_ERROR) {
        if (!callback.status) return std::move(callback.status.error().add_context(what));
        return sys_error("{}", what);
      }
      if (result == MNL_CB_STOP) return ok();
    }
  }

  // Sends a batch whose `count` messages, all with NLM_F_ACK, have the
  // sequence numbers first..first+count-1, and returns each one's errno
  // (0: accepted). The kernel refuses the whole batch if any fails.
  Result<std::vector<int>> talk_batch(const Batch& batch, uint32_t first, size_t count,
                                      const std::string& what) {
    drain();
    if (mnl_socket_sendto(socket_.get(), batch.data(), batch.size()) < 0)
      return sys_error("{}: send to nf_tables", what);
    // The kernel runs the batch inside sendmsg, so every answer is queued by
    // now: read without waiting, which also keeps a kernel that answers
    // fewer messages than expected from hanging us.
    std::vector<int> errors(count, 0);
    std::vector<bool> answered(count, false);
    size_t answers = 0;
    int batch_error = 0;
    while (answers < count) {
      ssize_t length =
          ::recv(mnl_socket_get_fd(socket_.get()), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (length < 0 && errno == EINTR) continue;
      if (length < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (length < 0) return sys_error("{}: receive from nf_tables", what);
      int left = static_cast<int>(length);
      for (auto* header = reinterpret_cast<const nlmsghdr*>(buffer_.data());
           mnl_nlmsg_ok(header, left); header = mnl_nlmsg_next(header, &left)) {
        if (header->nlmsg_type != NLMSG_ERROR ||
            header->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr)))
          continue;
        int error = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(header))->error;
        uint32_t index = header->nlmsg_seq - first;
        if (index < count) {
          if (!answered[index]) ++answers;
          answered[index] = true;
          if (error != 0) errors[index] = error;
        } else if (error != 0) {
          // An error for the batch as a whole (the commit failed).
          batch_error = error;
        }
      }
    }
    if (batch_error != 0) return Error::from_errno_value(what, batch_error);
    if (answers < count && std::all_of(errors.begin(), errors.end(), [](int e) { return e == 0; }))
      return make_error("{}: nf_tables answered {} of {} messages", what, answers, count);
    return errors;
  }

 private:
  struct Callback {
    const OnMessage* on_message;
    Status status;
  };
  static int run_callback(const nlmsghdr* header, void* data) {
    auto* callback = static_cast<Callback*>(data);
    callback->status = (*callback->on_message)(header);
    return callback->status ? MNL_CB_OK : MNL_CB_ERROR;
  }

  // Drops replies left over from a request abandoned half-way (an error
  // in the middle of a dump), which would otherwise answer the next one.
  void drain() {
    for (;;) {
      ssize_t length =
          ::recv(mnl_socket_get_fd(socket_.get()), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
      if (length < 0 && errno != EINTR && errno != ENOBUFS) return;
    }
  }

  MnlSocket socket_;
  uint32_t portid_;
  uint32_t seq_;
  // A dump's parts are at most 32 KiB (the kernel's cap for netlink dumps).
  std::vector<char> buffer_ = std::vector<char>(32768);
};

thread_local std::optional<NfSocket> NfSocket::kept_;
thread_local std::pair<dev_t, ino_t> NfSocket::kept_netns_;

std::string describe(const PortMapping& mapping) {
  return fmt::format("{} {}{}", to_string(mapping.protocol),
                     mapping.host_ip ? mapping.host_ip->to_string() + ":" : "", mapping.host_port);
}

// What makes two mappings collide: the map and its key.
auto key_of(const PortMapping& mapping) {
  return std::tuple(mapping.protocol, mapping.host_ip, mapping.host_port);
}

// One of the four maps: "tcp_any" (key: port), "tcp_addr" (key: host
// address . port), and the same for udp.
struct Map {
  Protocol protocol;
  bool by_address;
  std::string name() const {
    return fmt::format("{}_{}", to_string(protocol), by_address ? "addr" : "any");
  }
  auto operator<=>(const Map&) const = default;
};

Map map_of(const PortMapping& mapping) {
  return Map{mapping.protocol, mapping.host_ip.has_value()};
}

using Bytes = std::vector<uint8_t>;

void put_port(Bytes& bytes, uint16_t port) {
  bytes.push_back(static_cast<uint8_t>(port >> 8));
  bytes.push_back(static_cast<uint8_t>(port));
}

// address . port, each field padded to 4 bytes.
Bytes address_port(Ipv4 address, uint16_t port) {
  Bytes bytes;
  for (int shift = 24; shift >= 0; shift -= 8)
    bytes.push_back(static_cast<uint8_t>(address.value >> shift));
  put_port(bytes, port);
  bytes.resize(8, 0);
  return bytes;
}

Bytes element_key(const PortMapping& mapping) {
  if (mapping.host_ip) return address_port(*mapping.host_ip, mapping.host_port);
  Bytes bytes;
  put_port(bytes, mapping.host_port);
  return bytes;
}

Result<std::pair<Ipv4, uint16_t>> parse_address_port(const uint8_t* bytes, uint32_t length) {
  if (length != 8) return make_error("expected address . port (8 bytes), found {} bytes", length);
  Ipv4 address{static_cast<uint32_t>(bytes[0]) << 24 | static_cast<uint32_t>(bytes[1]) << 16 |
               static_cast<uint32_t>(bytes[2]) << 8 | bytes[3]};
  return std::pair(address, static_cast<uint16_t>(bytes[4] << 8 | bytes[5]));
}

// An nftnl_set naming table and map, the frame of element messages.
Result<NftnlSet> set_of(const std::string& table, const Map& map) {
  NftnlSet set(nftnl_set_alloc());
  if (!set) return sys_error("nftnl_set_alloc");
  if (nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str()) < 0 ||
      nftnl_set_set_str(set.get(), NFTNL_SET_NAME, map.name().c_str()) < 0)
    return sys_error("nftnl_set_set_str");
  return set;
}

// Appends to `batch` a message of type `type` (NFT_MSG_NEWSETELEM or
// NFT_MSG_DELSETELEM) for the mapping's element, one message per element so
// that the kernel's answer names the mapping it refuses.
Status append_element(Batch& batch, uint16_t type, uint16_t flags, uint32_t seq,
                      const std::string& table, const PortMapping& mapping, bool with_data) {
  NftnlSet set = TRY_VALUE(set_of(table, map_of(mapping)));
  NftnlElement element(nftnl_set_elem_alloc());
  if (!element) return sys_error("nftnl_set_elem_alloc");
  Bytes key = element_key(mapping);
  if (nftnl_set_elem_set(element.get(), NFTNL_SET_ELEM_KEY, key.data(), key.size()) < 0)
    return sys_error("nftnl_set_elem_set key");
  if (with_data) {
    Bytes data = address_port(mapping.container_ip, mapping.container_port);
    if (nftnl_set_elem_set(element.get(), NFTNL_SET_ELEM_DATA, data.data(), data.size()) < 0)
      return sys_error("nftnl_set_elem_set data");
  }
  nftnl_set_elem_add(set.get(), element.release());  // the set owns it now
  nlmsghdr* header =
      nftnl_nlmsg_build_hdr(batch.room(), type, NFPROTO_IPV4, flags | NLM_F_ACK, seq);
  nftnl_set_elems_nlmsg_build_payload(header, set.get());
  batch.commit();
  return ok();
}

// The elements of one map; a missing table or map has none.
Result<std::vector<PortMapping>> list_map(NfSocket& socket, const std::string& table,
                                          const Map& map) {
  const std::string what = fmt::format("nftables: list map ip {} {}", table, map.name());
  NftnlSet request = TRY_VALUE(set_of(table, map));
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* header = nftnl_nlmsg_build_hdr(buffer.data(), NFT_MSG_GETSETELEM, NFPROTO_IPV4,
                                           NLM_F_DUMP, socket.next_seq());
  nftnl_set_elems_nlmsg_build_payload(header, request.get());

  NftnlSet elements(nftnl_set_alloc());
  if (!elements) return sys_error("nftnl_set_alloc");
  Status listed = socket.talk(
      header,
      [&](const nlmsghdr* reply) -> Status {
        if (nftnl_set_elems_nlmsg_parse(reply, elements.get()) < 0)
          return sys_error("parse the elements");
        return ok();
      },
      what);
  if (!listed) {
    if (listed.error().errno_value() == ENOENT) return std::vector<PortMapping>{};
    return listed.error();
  }

  std::vector<PortMapping> mappings;
  NftnlIterator iterator(nftnl_set_elems_iter_create(elements.get()));
  if (!iterator) return sys_error("{}: nftnl_set_elems_iter_create", what);
  for (nftnl_set_elem* element = nftnl_set_elems_iter_next(iterator.get()); element;
       element = nftnl_set_elems_iter_next(iterator.get())) {
    uint32_t key_length = 0, data_length = 0;
    auto* key =
        static_cast<const uint8_t*>(nftnl_set_elem_get(element, NFTNL_SET_ELEM_KEY, &key_length));
    auto* data =
        static_cast<const uint8_t*>(nftnl_set_elem_get(element, NFTNL_SET_ELEM_DATA, &data_length));
    if (!key || !data) return make_error("{}: an element without key or value", what);
    PortMapping mapping;
    mapping.protocol = map.protocol;
    if (map.by_address) {
      auto parsed = parse_address_port(key, key_length);
      if (!parsed) return parsed.error().add_context(what);
      std::tie(mapping.host_ip, mapping.host_port) = *parsed;
    } else {
      if (key_length != 2)
        return make_error("{}: expected a port, found {} bytes", what, key_length);
      mapping.host_port = static_cast<uint16_t>(key[0] << 8 | key[1]);
    }
    auto target = parse_address_port(data, data_length);
    if (!target) return target.error().add_context(what);
    std::tie(mapping.container_ip, mapping.container_port) = *target;
    mappings.push_back(mapping);
  }
  return mappings;
}

Result<std::vector<PortMapping>> list_maps(NfSocket& socket, const std::string& table,
                                           const std::set<Map>& maps) {
  std::vector<PortMapping> mappings;
  for (const Map& map : maps) {
    std::vector<PortMapping> elements = TRY_VALUE(list_map(socket, table, map));
    mappings.insert(mappings.end(), elements.begin(), elements.end());
  }
  std::sort(mappings.begin(), mappings.end());
  return mappings;
}

std::set<Map> maps_of(const std::vector<PortMapping>& mappings) {
  std::set<Map> maps;
  for (const PortMapping& mapping : mappings) maps.insert(map_of(mapping));
  return maps;
}

// Adds (NFT_MSG_NEWSETELEM with `flags`) or deletes the elements in one
// batch: all or none. Returns each mapping's errno, 0 for accepted ones.
Result<std::vector<int>> change_elements(NfSocket& socket, const std::string& table,
                                         const std::vector<PortMapping>& mappings, bool add,
                                         const std::string& what) {
  Batch batch(socket.next_seq());
  uint32_t first = socket.next_seq();
  for (size_t i = 0; i < mappings.size(); ++i) {
    uint32_t seq = i == 0 ? first : socket.next_seq();
    Status appended =
        add ? append_element(batch, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, seq, table,
                             mappings[i], true)
            : append_element(batch, NFT_MSG_DELSETELEM, 0, seq, table, mappings[i], false);
    if (!appended) return appended.error().add_context(what);
  }
  batch.end(socket.next_seq());
  return socket.talk_batch(batch, first, mappings.size(), what);
}

std::vector<uint16_t> udp_host_ports(const std::vector<PortMapping>& mappings) {
  std::vector<uint16_t> ports;
  for (const PortMapping& mapping : mappings)
    if (mapping.protocol == Protocol::Udp) ports.push_back(mapping.host_port);
  return ports;
}

}  // namespace

namespace detail {

Result<bool> nat_table_exists(const std::string& bridge) {
  NfSocket& socket = *TRY_VALUE(NfSocket::for_this_netns());
  NftnlTable table(nftnl_table_alloc());
  if (!table) return sys_error("nftnl_table_alloc");
  if (nftnl_table_set_str(table.get(), NFTNL_TABLE_NAME, bridge.c_str()) < 0)
    return sys_error("nftnl_table_set_str");
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  // Not a dump: the kernel looks up this one table, whatever else there is.
  nlmsghdr* header = nftnl_nlmsg_build_hdr(buffer.data(), NFT_MSG_GETTABLE, NFPROTO_IPV4, NLM_F_ACK,
                                           socket.next_seq());
  nftnl_table_nlmsg_build_payload(header, table.get());
  Status found = socket.talk(header, nullptr, fmt::format("nftables: get table ip {}", bridge));
  if (found) return true;
  if (found.error().errno_value() == ENOENT) return false;
  return found.error();
}

}  // namespace detail

Status add_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  TRY(detail::check_bridge_name(bridge));
  if (mappings.empty()) return ok();
  std::set<decltype(key_of(mappings[0]))> keys;
  for (const PortMapping& mapping : mappings) {
    if (mapping.host_port == 0 || mapping.container_port == 0)
      return make_error("publish {}: port 0 cannot be published", describe(mapping));
    // 0.0.0.0 as a key would never match a destination; "every address"
    // is the any-address map, asked for by giving no host address.
    if (mapping.host_ip && mapping.host_ip->value == 0)
      return make_error("publish {}: give no host address, not 0.0.0.0, for every address",
                        describe(mapping));
    if (!keys.insert(key_of(mapping)).second)
      return make_error("publish {}: the port is given twice", describe(mapping));
  }
  NfSocket& socket = *TRY_VALUE(NfSocket::for_this_netns());
  const std::string what = fmt::format("nftables: publish ports on {}", bridge);
  // NLM_F_EXCL (nft's `create`, not `add`): without it the kernel accepts an
  // element that exists with the same value, and a port published twice is
  // a conflict either way.
  std::vector<int> errors = TRY_VALUE(change_elements(socket, bridge, mappings, true, what));
  auto failed = std::find_if(errors.begin(), errors.end(), [](int e) { return e != 0; });
  if (failed != errors.end()) {
    // The batch was refused as a whole, so nothing was added. Name the
    // mapping that holds a port that is taken, if one does.
    auto taken = std::find(errors.begin(), errors.end(), EEXIST);
    if (taken != errors.end()) {
      const PortMapping& mapping = mappings[taken - errors.begin()];
      auto existing = list_map(socket, bridge, map_of(mapping));
      if (existing)
        for (const PortMapping& other : *existing)
          if (key_of(mapping) == key_of(other))
            return make_error("publish {}: the port is already published (to {}:{})",
                              describe(mapping), other.container_ip.to_string(),
                              other.container_port);
      failed = taken;
    }
    return Error::from_errno_value(
        fmt::format("{}: publish {}", what, describe(mappings[failed - errors.begin()])), *failed);
  }
  Status flushed = socket.flush_udp_conntrack(udp_host_ports(mappings));
  if (!flushed) {
    // All or none: a published UDP port whose old flows bypass it is not
    // published, so take the elements out again.
    (void)change_elements(socket, bridge, mappings, false, what);
    return flushed.error().add_context(fmt::format("publish ports on {}", bridge));
  }
  return ok();
}

Status remove_port_mappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  TRY(detail::check_bridge_name(bridge));
  if (mappings.empty()) return ok();
  NfSocket& socket = *TRY_VALUE(NfSocket::for_this_netns());
  // Deleting a missing element fails the whole batch, so delete what is
  // there. Only elements with the same value: the kernel deletes by key
  // alone, and a key now pointing at another container is that container's
  // mapping. Callers serialise calls, so nothing changes in between.
  std::vector<PortMapping> existing = TRY_VALUE(list_maps(socket, bridge, maps_of(mappings)));
  std::vector<PortMapping> present;
  for (const PortMapping& mapping : mappings)
    if (std::binary_search(existing.begin(), existing.end(), mapping) &&
        std::find(present.begin(), present.end(), mapping) == present.end())
      present.push_back(mapping);
  if (!present.empty()) {
    const std::string what = fmt::format("nftables: unpublish ports on {}", bridge);
    std::vector<int> errors = TRY_VALUE(change_elements(socket, bridge, present, false, what));
    for (size_t i = 0; i < errors.size(); ++i)
      if (errors[i] != 0)
        return Error::from_errno_value(fmt::format("{}: unpublish {}", what, describe(present[i])),
                                       errors[i]);
  }
  TRY_CTX(socket.flush_udp_conntrack(udp_host_ports(mappings)), "unpublish ports on {}", bridge);
  if (!present.empty()) NfSocket::close_in_background();
  return ok();
}

Result<std::vector<PortMapping>> list_port_mappings(const std::string& bridge) {
  TRY(detail::check_bridge_name(bridge));
  NfSocket& socket = *TRY_VALUE(NfSocket::for_this_netns());
  return list_maps(socket, bridge,
                   {{Protocol::Tcp, false},
                    {Protocol::Udp, false},
                    {Protocol::Tcp, true},
                    {Protocol::Udp, true}});
}

}  // namespace berth::network

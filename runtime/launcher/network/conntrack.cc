#include "launcher/network/conntrack.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "launcher/network/netfilter_socket.h"

namespace berth::network {

namespace {

// An entry to delete: its original tuple attribute as the kernel sent it
// (the kernel finds the entry by that tuple) and its zone, if not the
// default one (a tuple is only unique within its zone).
struct Entry {
  std::string tuple_attribute;
  std::optional<uint16_t> zone_network_order;
};

struct DumpState {
  const std::vector<uint16_t>* ports;
  std::vector<Entry> matches;
};

nlmsghdr* put_header(char* buffer, uint8_t message, uint16_t flags, uint32_t seq) {
  nlmsghdr* header = mnl_nlmsg_put_header(buffer);
  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | message;
  header->nlmsg_flags = flags;
  header->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(header, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return header;
}

// Collects the attributes of one nesting level by type.
template <int Max>
int collect(const nlattr* attribute, void* data) {
  int type = mnl_attr_get_type(attribute);
  if (type <= Max) static_cast<const nlattr**>(data)[type] = attribute;
  return MNL_CB_OK;
}

int on_entry(const nlmsghdr* header, void* data) {
  auto* state = static_cast<DumpState*>(data);
  const nlattr* top[CTA_MAX + 1] = {};
  const nlattr* tuple[CTA_TUPLE_MAX + 1] = {};
  const nlattr* proto[CTA_PROTO_MAX + 1] = {};
  if (mnl_attr_parse(header, sizeof(nfgenmsg), collect<CTA_MAX>, top) < 0) return MNL_CB_ERROR;
  if (!top[CTA_TUPLE_ORIG]) return MNL_CB_OK;
  if (mnl_attr_parse_nested(top[CTA_TUPLE_ORIG], collect<CTA_TUPLE_MAX>, tuple) < 0 ||
      !tuple[CTA_TUPLE_PROTO] ||
      mnl_attr_parse_nested(tuple[CTA_TUPLE_PROTO], collect<CTA_PROTO_MAX>, proto) < 0)
    return MNL_CB_OK;
  if (!proto[CTA_PROTO_NUM] || mnl_attr_get_u8(proto[CTA_PROTO_NUM]) != IPPROTO_UDP ||
      !proto[CTA_PROTO_DST_PORT])
    return MNL_CB_OK;
  uint16_t port = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]));
  if (std::find(state->ports->begin(), state->ports->end(), port) == state->ports->end())
    return MNL_CB_OK;
  Entry entry;
  entry.tuple_attribute.assign(reinterpret_cast<const char*>(top[CTA_TUPLE_ORIG]),
                               top[CTA_TUPLE_ORIG]->nla_len);
  if (top[CTA_ZONE]) entry.zone_network_order = mnl_attr_get_u16(top[CTA_ZONE]);
  state->matches.push_back(std::move(entry));
  return MNL_CB_OK;
}

// Reads replies to `seq` until the dump's end or the ack.
Status receive(mnl_socket* socket, uint32_t seq, mnl_cb_t callback, void* data, const char* what) {
  // Large enough for a dump batch (libmnl's MNL_SOCKET_DUMP_SIZE, newer than ours).
  std::vector<char> buffer(32768);
  const uint32_t portid = mnl_socket_get_portid(socket);
  for (;;) {
    ssize_t length = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (length < 0) return sys_error("{}: receive from ctnetlink", what);
    int result = mnl_cb_run(buffer.data(), length, seq, portid, callback, data);
    if (result < 0) return sys_error("{}", what);
    if (result == MNL_CB_STOP) return ok();
  }
}

}  // namespace

Status flush_udp_conntrack(const std::vector<uint16_t>& ports) {
  if (ports.empty()) return ok();
  MnlSocket socket = TRY_VALUE(open_netfilter_socket("a ctnetlink socket"));
  return flush_udp_conntrack(socket.get(), ports);
}

Status flush_udp_conntrack(mnl_socket* socket, const std::vector<uint16_t>& ports) {
  if (ports.empty()) return ok();

  // The kernel's dump filters (CTA_FILTER) take one port at a time, so dump
  // the IPv4 table once and pick the entries here; the matches are deleted
  // after the dump ends, since one socket cannot do both at once.
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  std::vector<char> request(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* dump = put_header(request.data(), IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq);
  if (mnl_socket_sendto(socket, dump, dump->nlmsg_len) < 0)
    return sys_error("dump the conntrack table");
  DumpState state{&ports, {}};
  TRY(receive(socket, seq, on_entry, &state, "dump the conntrack table"));

  for (const Entry& entry : state.matches) {
    nlmsghdr* remove =
        put_header(request.data(), IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, ++seq);
    std::memcpy(mnl_nlmsg_get_payload_tail(remove), entry.tuple_attribute.data(),
                entry.tuple_attribute.size());
    remove->nlmsg_len += MNL_ALIGN(entry.tuple_attribute.size());
    if (entry.zone_network_order) mnl_attr_put_u16(remove, CTA_ZONE, *entry.zone_network_order);
    if (mnl_socket_sendto(socket, remove, remove->nlmsg_len) < 0)
      return sys_error("delete a UDP conntrack entry");
    Status deleted = receive(socket, seq, nullptr, nullptr, "delete a UDP conntrack entry");
    // ENOENT: the entry timed out or was deleted since the dump.
    if (!deleted && deleted.error().errno_value() != ENOENT) return deleted;
  }
  return ok();
}

}  // namespace berth::network

// The owner of an object a C library hands out with a function to free it:
//   CHandle<nft_ctx, nft_ctx_free> context(nft_ctx_new(NFT_CTX_DEFAULT));
//   CHandle<DIR, closedir> listing(::opendir(path));
// Every pointer from libseccomp, libcap, libarchive, OpenSSL, libnl, libmnl,
// libnftnl, libnftables and libc's DIR/FILE is held by one, so that no error
// path frees by hand and no file grows a deleter of its own.
//
// A std::unique_ptr whose deleter names the free function as a template
// argument: it holds no state, so the handle is one pointer wide and costs
// nothing over the raw pointer; and unique_ptr calls it only for a non-null
// pointer (closedir, fclose and mnl_socket_close crash on null). For libnl's
// reference-counted objects the "free" function is the *_put that drops the
// one reference we hold. A pointer given to a C object that takes ownership
// of it (rtnl_route_add_nexthop, nftnl_set_elem_add) leaves by release().
#pragma once

#include <memory>

namespace berth {

template <auto Free>
struct CallFree {
  template <typename T>
  void operator()(T* object) const noexcept {
    Free(object);
  }
};

template <typename T, auto Free>
using CHandle = std::unique_ptr<T, CallFree<Free>>;

}  // namespace berth

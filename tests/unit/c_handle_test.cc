#include "core/c_handle.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <vector>

namespace berth {
namespace {

// A C-style allocator and free function that record what they were given.
struct Object {
  int id;
};
std::vector<int> freed;
void free_object(Object* object) {
  freed.push_back(object->id);
  delete object;
}
using ObjectHandle = CHandle<Object, free_object>;

TEST(CHandle, IsOnePointerWide) {
  static_assert(sizeof(ObjectHandle) == sizeof(Object*));
  static_assert(sizeof(CHandle<DIR, closedir>) == sizeof(DIR*));
}

TEST(CHandle, CallsTheFreeFunctionOnceWhenItGoesOutOfScope) {
  freed.clear();
  {
    ObjectHandle handle(new Object{7});
    ObjectHandle moved = std::move(handle);
    EXPECT_EQ(handle.get(), nullptr);
  }
  EXPECT_EQ(freed, std::vector<int>{7});
}

TEST(CHandle, NeverCallsTheFreeFunctionWithNull) {
  // closedir, fclose and mnl_socket_close crash on null: a failed
  // allocation must go out of scope without calling them.
  freed.clear();
  { ObjectHandle failed(nullptr); }
  { CHandle<DIR, closedir> missing(::opendir("/nonexistent/berth")); }
  EXPECT_TRUE(freed.empty());
}

TEST(CHandle, ReleaseHandsTheObjectOnWithoutFreeingIt) {
  freed.clear();
  Object* taken;
  {
    ObjectHandle handle(new Object{3});
    taken = handle.release();
  }
  EXPECT_TRUE(freed.empty());
  free_object(taken);
  EXPECT_EQ(freed, std::vector<int>{3});
}

}  // namespace
}  // namespace berth

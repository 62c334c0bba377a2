#include "core/event_loop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace pd {
namespace {

using std::chrono::seconds;

TEST(VirtualLoop, RunsTimersInTimeOrderAndJumpsTheClock) {
  VirtualLoop loop;
  std::vector<int> order;
  const MonoTime start = loop.now();
  loop.schedule_after(seconds(30), [&] { order.push_back(30); });
  loop.schedule_after(seconds(10), [&] { order.push_back(10); });
  loop.schedule_after(seconds(10), [&] { order.push_back(11); });  // same time: FIFO
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{10, 11, 30}));
  EXPECT_EQ(loop.now() - start, seconds(30));
}

TEST(VirtualLoop, CancelledTimersDoNotRun) {
  VirtualLoop loop;
  bool ran = false;
  const TimerId id = loop.schedule_after(seconds(5), [&] { ran = true; });
  loop.cancel(id);
  loop.cancel(id);  // twice is harmless
  loop.run();
  EXPECT_FALSE(ran);
}

TEST(VirtualLoop, WallTimeFollowsVirtualTime) {
  VirtualLoop loop(WallTime{Millis{1'000'000}});
  loop.schedule_after(seconds(90), [] {});
  loop.run();
  EXPECT_EQ(loop.wall_now(), WallTime{Millis{1'090'000}});
}

TEST(VirtualLoop, RunUntilStopsAtTheGivenTime) {
  VirtualLoop loop;
  int ran = 0;
  loop.schedule_after(seconds(1), [&] { ++ran; });
  loop.schedule_after(seconds(3), [&] { ++ran; });
  loop.run_until(loop.now() + seconds(2));
  EXPECT_EQ(ran, 1);
  loop.run();
  EXPECT_EQ(ran, 2);
}

TEST(RealTimeLoop, PostFromAnotherThreadWakesTheLoop) {
  RealTimeLoop loop;
  std::thread other([&] { loop.post([&] { loop.stop(); }); });
  loop.run();  // returns only because the posted task ran
  other.join();
}

TEST(RealTimeLoop, AcceleratedTimersFireEarlyInRealTime) {
  RealTimeLoop loop(100.0);  // 100x
  const auto real_start = std::chrono::steady_clock::now();
  const MonoTime virtual_start = loop.now();
  loop.schedule_after(seconds(10), [&] { loop.stop(); });
  loop.run();
  const auto real = std::chrono::steady_clock::now() - real_start;
  EXPECT_GE(loop.now() - virtual_start, seconds(10));
  EXPECT_LT(real, seconds(5));  // 10 s of virtual time is 0.1 s of real time
}

TEST(RealTimeLoop, StartsItsWallClockExactlyWhereAskedEvenInThePast) {
  const WallTime start{std::chrono::milliseconds{1'772'964'000'000}};  // 2026-03-08T10:00Z
  RealTimeLoop loop(1000.0, system_clock(), RealTimeLoop::StartAt{start});
  EXPECT_GE(loop.wall_now(), start);
  EXPECT_LT(loop.wall_now(), start + seconds(3600));  // not the real time, months later
  loop.schedule_after(seconds(60), [&] { loop.stop(); });
  loop.run();
  EXPECT_GE(loop.wall_now(), start + seconds(60));
}

}  // namespace
}  // namespace pd

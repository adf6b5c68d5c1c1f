// The energy model's arithmetic (energy_model.hpp) against values worked out by hand from
// the standards' field sizes and Semtech's time-on-air formula. Each expected value below
// is derived in the comment above it, not taken from the code under test.
#include "energy_model.hpp"

#include <doctest/doctest.h>

using doctest::Approx;
using namespace energy;

namespace {

constexpr BlePhy kLe1M{1, 1};
constexpr BlePhy kLe2M{2, 2};

BleLink ble_link(BlePhy phy, double ll_payload, double att_mtu, double mic) {
  return BleLink{phy, ll_payload, att_mtu, mic, 150, 40, 7.5, 36, 148, 110, 700};
}

// Thread over 802.15.4 as report.cpp sets it up: MAC header 9 + FCS 2, auxiliary security
// header 6 + MIC 4, compressed IPv6 + UDP 33, datagrams of 1232 bytes.
Ieee802154 thread_link() {
  return Ieee802154{32, 6, 127, 11, 10, 5, 4, 5, 33, 1232, 320, 3, 128, 192, 640, 40, 22, 110};
}

LoraPhy lora(int sf) {
  return LoraPhy{sf, 125e3, 1, 8, false};
}

}  // namespace

TEST_CASE("BLE: packet air times from the Core Spec's field sizes") {
  // LE 1M, 251-byte payload, encrypted: 1 + 4 + 2 + 251 + 4 + 3 = 265 bytes x 8 us = 2120 us,
  // the longest uncoded LE 1M packet the Core Spec allows.
  CHECK(ble_packet_us(kLe1M, 251, 4) == Approx(2120));
  // Unencrypted: 261 bytes, 2088 us.
  CHECK(ble_packet_us(kLe1M, 251, 0) == Approx(2088));
  // An empty PDU carries no MIC even on an encrypted link: 1 + 4 + 2 + 3 = 10 bytes, 80 us.
  CHECK(ble_packet_us(kLe1M, 0, 4) == Approx(80));
  // LE 2M: 2-byte preamble, 4 us per byte: empty 11 bytes = 44 us; full 266 bytes = 1064 us.
  CHECK(ble_packet_us(kLe2M, 0, 4) == Approx(44));
  CHECK(ble_packet_us(kLe2M, 251, 4) == Approx(1064));
  // Without DLE (27-byte payload), encrypted: 41 bytes = 328 us, Bluetooth 4.0's maximum.
  CHECK(ble_packet_us(kLe1M, 27, 4) == Approx(328));
}

TEST_CASE("BLE: application bytes into link-layer packets") {
  // MTU 247, DLE: 244 bytes per notification, one 251-byte packet each. 157,000 bytes =
  // 643 full notifications (156,892 bytes) + 108 bytes: 644 packets carrying
  // 157,000 + 644 x 7 = 161,508 bytes.
  BleSegments s = ble_segments(157000, 247, 251);
  CHECK(s.packets == 644);
  CHECK(s.payload_bytes == 161508);
  // Default MTU 23, no DLE: 20 bytes per packet, 7,850 packets, 157,000 + 7 x 7,850 bytes.
  s = ble_segments(157000, 23, 27);
  CHECK(s.packets == 7850);
  CHECK(s.payload_bytes == 211950);
  // MTU 247 without DLE: one 251-byte L2CAP PDU in ceil(251 / 27) = 10 packets.
  s = ble_segments(244, 247, 27);
  CHECK(s.packets == 10);
  CHECK(s.payload_bytes == 251);
  // MTU 51 without DLE: a 48-byte value is a 55-byte L2CAP PDU, 27 + 27 + 1 bytes.
  s = ble_segments(48, 51, 27);
  CHECK(s.packets == 3);
  CHECK(s.payload_bytes == 55);
  // MTU 247 without DLE, 265 bytes: a 244-byte value in 10 packets, then 21 bytes + 7 = 28
  // bytes in 2 more.
  s = ble_segments(265, 247, 27);
  CHECK(s.packets == 12);
  CHECK(s.payload_bytes == 279);
  // 30 bytes at MTU 23: a 20-byte and a 10-byte value, 27 + 17 bytes in 2 packets.
  s = ble_segments(30, 23, 27);
  CHECK(s.packets == 2);
  CHECK(s.payload_bytes == 44);
}

TEST_CASE("BLE: a transfer's radio and CPU time") {
  const BleLink l = ble_link(kLe1M, 251, 247, 4);
  // 157,000 bytes up: 644 packets of 161,508 payload bytes plus 644 x (10 + 4) bytes of
  // framing = 170,524 bytes x 8 us = 1.364192 s, plus 644 ramp-ups of 40 us = 0.02576 s.
  const RadioUse up = ble_transfer(157000, l, true);
  CHECK(up.tx_s == Approx(1.389952));
  // Time at 700 kbit/s: 157,000 x 8 / 700,000 = 1.794286 s; ceil(1.794286 / 7.5 ms) = 240
  // connection events. CPU: 240 x 148 us + 644 x 110 us = 0.10636 s.
  CHECK(up.time_s == Approx(1.7942857));
  CHECK(up.cpu_s == Approx(0.10636));
  // RX: the peer's 644 empty PDUs (80 us) and their ramp-ups, 644 x 120 us = 0.07728 s, and
  // 36 us of listening at the start of each of the 240 events, 0.00864 s.
  CHECK(up.rx_s == Approx(0.08592));
  // Downloading swaps the packets' roles; the events' listening stays RX.
  const RadioUse down = ble_transfer(157000, l, false);
  CHECK(down.rx_s == Approx(1.389952 + 0.00864));
  CHECK(down.tx_s == Approx(0.07728));
}

TEST_CASE("BLE: the link's ceiling matches the known maxima") {
  // Per 244 bytes: packet + T_IFS + empty PDU + T_IFS. LE 1M, encrypted: 2120 + 150 + 80 + 150
  // = 2500 us: 1952 bits / 2500 us = 780.8 kbit/s.
  CHECK(ble_max_throughput_kbps(ble_link(kLe1M, 251, 247, 4)) == Approx(780.8));
  // LE 2M: 1064 + 300 + 44 = 1408 us: 1386.36 kbit/s.
  CHECK(ble_max_throughput_kbps(ble_link(kLe2M, 251, 247, 4)) == Approx(1386.3636));
  // No DLE, unencrypted: 20 bytes per 296 + 300 + 80 = 676 us: 236.7 kbit/s, the "about 236
  // kbit/s without DLE" often quoted.
  CHECK(ble_max_throughput_kbps(ble_link(kLe1M, 27, 23, 0)) == Approx(236.6864));
  // A throughput above the ceiling is held to it: 157,000 x 8 bits at 780.8 kbit/s = 1.608607 s.
  BleLink fast = ble_link(kLe1M, 251, 247, 4);
  fast.throughput_kbps = 2000;
  CHECK(ble_transfer(157000, fast, true).time_s == Approx(1.6086066));
}

TEST_CASE("802.15.4: frames, CSMA-CA and acknowledgements") {
  const Ieee802154 p = thread_link();
  // A full frame: 6 + 127 bytes x 32 us = 4256 us; an acknowledgement: 6 + 5 = 11 bytes, 352 us.
  CHECK(ieee802154_frame_us(p, 127) == Approx(4256));
  CHECK(ieee802154_frame_us(p, 5) == Approx(352));
  // First backoff with macMinBE = 3: uniform over 0..7 periods, mean 3.5 x 320 us = 1120 us.
  CHECK(ieee802154_mean_backoff_us(p) == Approx(1120));
  // One 122-byte frame: TX = ramp-up 40 + (6 + 122) x 32 = 4136 us; RX = ramp-up 40 + CCA 128
  // + turnaround 192 + acknowledgement 352 = 712 us; elapsed = backoff 1120 + 40 + 128
  // + 2 x 192 + frame 4096 + ack 352 + LIFS 640 = 6760 us.
  const RadioUse one = ieee802154_send(p, 1, 122);
  CHECK(one.tx_s == Approx(4136e-6));
  CHECK(one.rx_s == Approx(712e-6));
  CHECK(one.time_s == Approx(6760e-6));
  // Receiving that frame as a sleepy device. The poll, a 22-byte data request sent like a
  // frame: TX 40 + 28 x 32 = 936 us, RX 712 us, elapsed 1120 + 40 + 128 + 384 + 640 + 896
  // + 352 = 3560 us. Then listening through the parent's backoff, ramp-up, CCA and
  // turnaround (1120 + 40 + 128 + 192 = 1480 us) and the frame (4096 us); the
  // acknowledgement: ramp-up 40 + 352 us of TX. Elapsed 1480 + 4096 + 192 + 352 + LIFS 640
  // = 6760 us. In all: TX 1328 us, RX 6288 us, elapsed 10320 us, CPU 2 x 110 us.
  const RadioUse in = ieee802154_receive(p, 1, 122);
  CHECK(in.tx_s == Approx(1328e-6));
  CHECK(in.rx_s == Approx(6288e-6));
  CHECK(in.time_s == Approx(10320e-6));
  CHECK(in.cpu_s == Approx(220e-6));
}

TEST_CASE("802.15.4: 6LoWPAN fragmentation of UDP datagrams") {
  const Ieee802154 p = thread_link();
  // Room in a frame: 127 - 11 - 10 = 106 bytes. Header 33 + payload 73 fits unfragmented:
  // one frame of 21 + 33 + 73 = 127 bytes.
  LowpanFrames f = lowpan_datagram(p, 73);
  CHECK(f.frames == 1);
  CHECK(f.psdu_bytes == 127);
  // First fragment: 106 - 4 (FRAG1) - 33 = 69 bytes of room; it must cover a multiple of 8
  // of the uncompressed datagram (48-byte header + data): 48 + 64 = 112, so 64 data bytes,
  // a 21 + 4 + 33 + 64 = 122-byte frame. Others: (106 - 5) rounded down to 8 = 96 data bytes.
  // 74 bytes: 64 + 10, frames of 122 and 21 + 5 + 10 = 36 bytes.
  f = lowpan_datagram(p, 74);
  CHECK(f.frames == 2);
  CHECK(f.psdu_bytes == 158);
  // 160 bytes: exactly 64 + 96, two full 122-byte frames.
  f = lowpan_datagram(p, 160);
  CHECK(f.frames == 2);
  CHECK(f.psdu_bytes == 244);
  // 1232 bytes: 64 + 12 x 96 + 16: 14 frames, 13 x 122 + 42 = 1628 bytes.
  f = lowpan_datagram(p, 1232);
  CHECK(f.frames == 14);
  CHECK(f.psdu_bytes == 1628);
  // 157,000 bytes: 127 datagrams of 1232 (156,464) + one of 536 = 64 + 4 x 96 + 88, six frames
  // of 122 + 4 x 122 + 114 = 724 bytes. 127 x 14 + 6 = 1784 frames, 127 x 1628 + 724 bytes.
  f = lowpan_transfer(p, 157000);
  CHECK(f.frames == 1784);
  CHECK(f.psdu_bytes == 207480);
}

TEST_CASE("LoRa: Semtech's time on air, SF7 and SF12 at 125 kHz, CR 4/5") {
  // SF7: T_sym = 128 / 125 kHz = 1.024 ms; preamble (8 + 4.25) x 1.024 = 12.544 ms.
  CHECK(lora_symbol_s(lora(7)) == Approx(1.024e-3));
  CHECK_FALSE(lora_low_data_rate_optimize(lora(7)));
  // An empty LoRaWAN frame, PL = 13, CRC on: (104 - 28 + 28 + 16) / 28 = 4.29 -> 5 blocks of
  // 5 symbols + 8 = 33 symbols = 33.792 ms; with the preamble 46.336 ms.
  CHECK(lora_payload_symbols(lora(7), 13, true) == 33);
  CHECK(lora_time_on_air_s(lora(7), 13, true) == Approx(46.336e-3));
  // PL = 255 (242 application bytes + 13): (2040 + 16) / 28 = 73.4 -> 74 x 5 + 8 = 378 symbols:
  // 387.072 + 12.544 = 399.616 ms.
  CHECK(lora_time_on_air_s(lora(7), 255, true) == Approx(399.616e-3));
  // Without the payload CRC (a downlink): 2040 / 28 = 72.9 -> 73 x 5 + 8 = 373 symbols:
  // 381.952 + 12.544 = 394.496 ms.
  CHECK(lora_time_on_air_s(lora(7), 255, false) == Approx(394.496e-3));
  // SF9, PL = 13: T_sym 4.096 ms; (104 - 36 + 44) / 36 = 3.1 -> 4 x 5 + 8 = 28 symbols =
  // 114.688 ms + 12.25 x 4.096 = 50.176 ms: 164.864 ms, the value of the Semtech-based
  // calculator quoted in docs/energy_constants.md.
  CHECK(lora_time_on_air_s(lora(9), 13, true) == Approx(164.864e-3));
  // SF12: T_sym 32.768 ms > 16 ms, so the low data rate optimisation is on (DE = 1).
  CHECK(lora_low_data_rate_optimize(lora(12)));
  // PL = 64 (51 + 13): (512 - 48 + 44) / (4 x 10) = 12.7 -> 13 x 5 + 8 = 73 symbols =
  // 2392.064 ms + 12.25 x 32.768 = 401.408 ms: 2793.472 ms.
  CHECK(lora_time_on_air_s(lora(12), 64, true) == Approx(2793.472e-3));
  // PL = 13: (104 - 48 + 44) / 40 = 2.5 -> 3 x 5 + 8 = 23 symbols: 753.664 + 401.408 = 1155.072 ms.
  CHECK(lora_time_on_air_s(lora(12), 13, true) == Approx(1155.072e-3));
  // SF11 (16.384 ms) needs it too; SF10 (8.192 ms) does not.
  CHECK(lora_low_data_rate_optimize(lora(11)));
  CHECK_FALSE(lora_low_data_rate_optimize(lora(10)));
}

TEST_CASE("LoRaWAN: receive windows and the duty cycle") {
  // LoRaMac-node's defaults (6 symbols, 10 ms error): SF7 ceil((4 x 1.024 + 20) / 1.024) =
  // ceil(23.53) = 24 symbols; SF12 ceil(4 + 20 / 32.768) = 5, raised to the minimum 6.
  CHECK(lora_rx_window_symbols(1.024e-3, 6, 10e-3) == 24);
  CHECK(lora_rx_window_symbols(32.768e-3, 6, 10e-3) == 6);
  const LoraWan w{lora(7), lora(12), 242, 13, 0.01, 6, 10e-3, 1.0};
  // 157,000 bytes: 648 frames of 242 (156,816) + 184 bytes (PL 197: (1576 + 16) / 28 = 56.9
  // -> 57 x 5 + 8 = 293 symbols, 300.032 + 12.544 = 312.576 ms). TX = 648 x 0.399616
  // + 0.312576 = 259.263744 s; at 1 % it takes 100 times that.
  const RadioUse up = lorawan_send(w, 157000);
  CHECK(up.frames == 649);
  CHECK(up.tx_s == Approx(259.263744));
  CHECK(up.time_s == Approx(25926.3744));
  // RX1 (24 x 1.024 ms) and RX2 (6 x 32.768 ms) after each: 649 x 221.184 ms.
  CHECK(up.rx_s == Approx(143.548416));
  // 19,904 bytes down: 82 frames of 242 (19,844) + 60 bytes, 83 downlinks, each opened by an
  // empty uplink (46.336 ms): TX 83 x 46.336 ms = 3.845888 s. Downlinks have no CRC: PL 255
  // takes 394.496 ms; PL 73: 584 / 28 = 20.9 -> 21 x 5 + 8 = 113 symbols, 115.712 + 12.544 =
  // 128.256 ms. RX 82 x 394.496 + 128.256 ms = 32.476928 s; the gateway's 1 % paces them:
  // 3247.6928 s, plus RX1's 1 s delay per downlink.
  const RadioUse down = lorawan_receive(w, 19904);
  CHECK(down.frames == 83);
  CHECK(down.tx_s == Approx(3.845888));
  CHECK(down.rx_s == Approx(32.476928));
  CHECK(down.time_s == Approx(3330.6928));
}

TEST_CASE("NB-IoT: whole messages at a measured energy") {
  // 157,000 bytes in 584-byte messages: ceil(268.8) = 269 messages.
  const RadioUse u = nbiot_transfer(157000, 584, 0.1, 1.5);
  CHECK(u.frames == 269);
  CHECK(u.fixed_j == Approx(26.9));
  CHECK(u.time_s == Approx(403.5));
  CHECK(joules(u, 3.0, 10, 10, 10) == Approx(26.9));
}

TEST_CASE("device: cycles, seconds and joules") {
  // 64 M instructions at 1.5 cycles per instruction and 64 MHz: 1.5 s; at 3.3 mA and 3 V:
  // 1.5 x 3.3e-3 x 3 = 14.85 mJ.
  const double s = cpu_seconds(64e6, 1.5, 64);
  CHECK(s == Approx(1.5));
  RadioUse cpu;
  cpu.cpu_s = s;
  CHECK(joules(cpu, 3.0, 0, 0, 3.3) == Approx(14.85e-3));
}

// energy_model: the arithmetic of the demo report's time and energy model, as pure functions
// of their parameters (no defaults hidden here: host/report.cpp passes every constant, and
// docs/energy_constants.md gives each one's source). Pinned by test_energy_model.cpp.
//
// What a link costs the device is returned as a RadioUse: how long its radio transmits and
// receives (ramp-up included), how long its CPU runs the protocol stack, how long the
// transfer takes, and, for links measured as a whole (NB-IoT), a fixed energy per message.
// Energy is then V * (t_tx * I_tx + t_rx * I_rx + t_cpu * I_cpu) + fixed.
#pragma once

#include <algorithm>
#include <cmath>

namespace energy {

struct RadioUse {
  double tx_s = 0;     // radio transmitting, ramp-up included
  double rx_s = 0;     // radio receiving or listening, ramp-up included
  double cpu_s = 0;    // CPU awake for the protocol stack
  double time_s = 0;   // elapsed time of the transfer
  double frames = 0;   // link-layer packets, frames or messages carrying data
  double fixed_j = 0;  // energy measured per message (NB-IoT), beyond the currents above

  RadioUse& operator+=(const RadioUse& o) {
    tx_s += o.tx_s;
    rx_s += o.rx_s;
    cpu_s += o.cpu_s;
    time_s += o.time_s;
    frames += o.frames;
    fixed_j += o.fixed_j;
    return *this;
  }
};

// Charge drawn at `volts`: the radio and CPU times at their currents (mA), plus fixed energy.
inline double joules(const RadioUse& u, double volts, double tx_ma, double rx_ma, double cpu_ma) {
  return volts * 1e-3 * (u.tx_s * tx_ma + u.rx_s * rx_ma + u.cpu_s * cpu_ma) + u.fixed_j;
}

inline double ceil_div(double a, double b) {
  return std::ceil(a / b);
}

// ---------------------------------------------------------------------------------------
// Computing on the device: instructions times cycles per instruction at the core clock.
// ---------------------------------------------------------------------------------------
inline double cpu_seconds(double instructions, double cycles_per_instruction, double mhz) {
  return instructions * cycles_per_instruction / (mhz * 1e6);
}

// ---------------------------------------------------------------------------------------
// Bluetooth LE (Core Spec Vol 6 Part B §2.1: uncoded PHY packet = preamble, access address 4,
// PDU = header 2 + payload (+ MIC 4 on an encrypted link, only when the payload is not
// empty), CRC 3; 1 byte per 8 us on the LE 1M PHY, per 4 us on the LE 2M PHY).
// ---------------------------------------------------------------------------------------
struct BlePhy {
  double mbps;            // 1 or 2
  double preamble_bytes;  // 1 (LE 1M) or 2 (LE 2M)
};

inline double ble_on_air_bytes(const BlePhy& phy, double payload, double mic_bytes) {
  return phy.preamble_bytes + 4 + 2 + payload + (payload > 0 ? mic_bytes : 0) + 3;
}

inline double ble_packet_us(const BlePhy& phy, double payload, double mic_bytes) {
  return ble_on_air_bytes(phy, payload, mic_bytes) * 8 / phy.mbps;
}

// Application bytes as ATT notifications (or write commands) of up to att_mtu - 3 bytes, each
// an L2CAP PDU of value + 3 (ATT) + 4 (L2CAP) bytes cut into link-layer payloads of up to
// ll_payload bytes.
struct BleSegments {
  double packets = 0;        // link-layer data packets
  double payload_bytes = 0;  // their payloads, summed
};

inline BleSegments ble_segments(double bytes, double att_mtu, double ll_payload) {
  const double per_value = att_mtu - 3;
  const double full = std::floor(bytes / per_value);
  const double rest = bytes - full * per_value;
  BleSegments s;
  s.packets =
      full * ceil_div(att_mtu + 4, ll_payload) + (rest > 0 ? ceil_div(rest + 7, ll_payload) : 0);
  s.payload_bytes = bytes + 7 * (full + (rest > 0 ? 1 : 0));
  return s;
}

struct BleLink {
  BlePhy phy;
  double ll_payload;        // 251 with Data Length Extension, 27 without
  double att_mtu;           // 247 with DLE, 23 (the default) without
  double mic_bytes;         // 4 on an encrypted link
  double t_ifs_us;          // 150
  double rampup_us;         // radio ramp-up before each TX and each RX
  double conn_interval_ms;  // connection interval
  double event_listen_us;   // mean listening at each event's start, before the first packet
  double cpu_event_us;      // stack CPU time per connection event (prepare, start, post)
  double cpu_packet_us;     // stack CPU time per data packet and its empty acknowledgement
  double throughput_kbps;   // application throughput of the link, for the time
};

// The link's own ceiling: bytes over (data packet + T_IFS + empty PDU + T_IFS) per packet,
// with no gaps between connection events.
inline double ble_max_throughput_kbps(const BleLink& l) {
  const double value = l.att_mtu - 3;
  const BleSegments s = ble_segments(value, l.att_mtu, l.ll_payload);
  const double cycle_us =
      (s.payload_bytes + s.packets * (ble_on_air_bytes(l.phy, 0, 0) + l.mic_bytes)) * 8 /
          l.phy.mbps +
      s.packets * (2 * l.t_ifs_us + ble_packet_us(l.phy, 0, l.mic_bytes));
  return value * 8 / cycle_us * 1e3;
}

// One-way transfer: every data packet is answered by the peer's empty PDU (T_IFS after
// it). `device_sends`: the device transmits the data packets and receives the empty PDUs;
// otherwise the other way round. The radio is on for the packets and a ramp-up before each;
// for the rest of each T_IFS it is off (fast ramp-up: T_IFS is kept by software). Time is
// bytes / application throughput, at most the link's ceiling (below); the connection events
// are that time over the connection interval, and each costs the device its receive
// window's listening and the stack's CPU time.
inline RadioUse ble_transfer(double bytes, const BleLink& l, bool device_sends) {
  RadioUse u;
  if (bytes <= 0)
    return u;
  const BleSegments s = ble_segments(bytes, l.att_mtu, l.ll_payload);
  const double per_packet_overhead = ble_on_air_bytes(l.phy, 0, 0);  // preamble, AA, header, CRC
  const double data_s =
      ((s.payload_bytes + s.packets * (per_packet_overhead + l.mic_bytes)) * 8 / l.phy.mbps +
       s.packets * l.rampup_us) *
      1e-6;
  const double empty_s = s.packets * (ble_packet_us(l.phy, 0, l.mic_bytes) + l.rampup_us) * 1e-6;
  u.tx_s = device_sends ? data_s : empty_s;
  u.rx_s = device_sends ? empty_s : data_s;
  u.time_s = bytes * 8 / (std::min(l.throughput_kbps, ble_max_throughput_kbps(l)) * 1e3);
  const double events = std::ceil(u.time_s / (l.conn_interval_ms * 1e-3));
  u.rx_s += events * l.event_listen_us * 1e-6;
  u.cpu_s = (events * l.cpu_event_us + s.packets * l.cpu_packet_us) * 1e-6;
  u.frames = s.packets;
  return u;
}

// ---------------------------------------------------------------------------------------
// IEEE 802.15.4 (2.4 GHz O-QPSK, 250 kbit/s: 32 us per byte, 16 us per symbol) carrying
// Thread: 6LoWPAN-compressed UDP datagrams, fragmented (RFC 4944 §5.3) into frames of at
// most 127 bytes (PSDU), each sent with unslotted CSMA-CA and acknowledged.
// ---------------------------------------------------------------------------------------
struct Ieee802154 {
  double us_per_byte;      // 32
  double shr_phr_bytes;    // preamble 4 + SFD 1 + PHR 1
  double max_psdu;         // aMaxPHYPacketSize 127
  double mac_overhead;     // MAC header + FCS of a data frame
  double security_bytes;   // auxiliary security header + MIC
  double ack_psdu;         // immediate acknowledgement: frame control 2, sequence 1, FCS 2
  double frag1_bytes;      // 4
  double fragn_bytes;      // 5
  double ip_udp_bytes;     // compressed IPv6 + UDP header (IPHC + UDP NHC)
  double datagram_bytes;   // UDP payload per datagram
  double unit_backoff_us;  // aUnitBackoffPeriod, 20 symbols
  double min_be;           // macMinBE
  double cca_us;           // 8 symbols
  double turnaround_us;    // aTurnaroundTime, 12 symbols
  double lifs_us;          // macLIFSPeriod, 40 symbols (after frames longer than 18 bytes)
  double rampup_us;        // radio ramp-up (TX or RX)
  double poll_psdu;        // a secured MAC data request (a sleepy device polling its parent)
  double cpu_frame_us;     // stack CPU time per frame sent or received
};

inline double ieee802154_frame_us(const Ieee802154& p, double psdu) {
  return (p.shr_phr_bytes + psdu) * p.us_per_byte;
}

// Mean of the first backoff of unslotted CSMA-CA: uniform in [0, 2^BE - 1] unit periods.
inline double ieee802154_mean_backoff_us(const Ieee802154& p) {
  return (std::pow(2.0, p.min_be) - 1) / 2 * p.unit_backoff_us;
}

struct LowpanFrames {
  double frames = 0;
  double psdu_bytes = 0;  // summed over the frames
};

// One UDP datagram of `payload` bytes. Unfragmented when it fits one frame; otherwise the
// first fragment carries FRAG1 + the compressed header + data, the others FRAGN + data, and
// every fragment but the last covers a multiple of 8 bytes of the uncompressed datagram
// (IPv6 40 + UDP 8 + payload).
inline LowpanFrames lowpan_datagram(const Ieee802154& p, double payload) {
  LowpanFrames f;
  const double frame_room = p.max_psdu - p.mac_overhead - p.security_bytes;
  const double per_frame = p.mac_overhead + p.security_bytes;
  if (p.ip_udp_bytes + payload <= frame_room) {
    f.frames = 1;
    f.psdu_bytes = per_frame + p.ip_udp_bytes + payload;
    return f;
  }
  const double uncompressed_header = 48;
  const double first =
      std::floor((frame_room - p.frag1_bytes - p.ip_udp_bytes + uncompressed_header) / 8) * 8 -
      uncompressed_header;
  const double next = std::floor((frame_room - p.fragn_bytes) / 8) * 8;
  const double rest = payload - first;
  const double full = std::floor(rest / next);
  const double tail = rest - full * next;
  f.frames = 1 + full + (tail > 0 ? 1 : 0);
  f.psdu_bytes = per_frame + p.frag1_bytes + p.ip_udp_bytes + first +
                 full * (per_frame + p.fragn_bytes + next) +
                 (tail > 0 ? per_frame + p.fragn_bytes + tail : 0);
  return f;
}

inline LowpanFrames lowpan_transfer(const Ieee802154& p, double bytes) {
  LowpanFrames all;
  const double full = std::floor(bytes / p.datagram_bytes);
  const double rest = bytes - full * p.datagram_bytes;
  const LowpanFrames one = lowpan_datagram(p, p.datagram_bytes);
  all.frames = full * one.frames;
  all.psdu_bytes = full * one.psdu_bytes;
  if (rest > 0) {
    const LowpanFrames last = lowpan_datagram(p, rest);
    all.frames += last.frames;
    all.psdu_bytes += last.psdu_bytes;
  }
  return all;
}

// Sending `frames` frames of `psdu_bytes` in all: each a mean backoff (radio off), RX
// ramp-up and CCA, turnaround to TX (TX ramp-up), the frame, turnaround listening and the
// acknowledgement, then the long inter-frame space.
inline RadioUse ieee802154_send(const Ieee802154& p, double frames, double psdu_bytes) {
  RadioUse u;
  const double frame_s = (frames * p.shr_phr_bytes + psdu_bytes) * p.us_per_byte * 1e-6;
  const double ack_s = ieee802154_frame_us(p, p.ack_psdu) * 1e-6;
  u.rx_s = frames * ((p.rampup_us + p.cca_us + p.turnaround_us) * 1e-6 + ack_s);
  u.tx_s = frames * p.rampup_us * 1e-6 + frame_s;
  u.time_s = frames *
                 (ieee802154_mean_backoff_us(p) + p.rampup_us + p.cca_us + 2 * p.turnaround_us +
                  p.lifs_us) *
                 1e-6 +
             frame_s + frames * ack_s;
  u.cpu_s = frames * p.cpu_frame_us * 1e-6;
  u.frames = frames;
  return u;
}

// Receiving `frames` frames as a sleepy end device: each fetched with a data request (sent
// like a frame, above), then listening through the parent's backoff and CCA until its frame
// arrives, and acknowledging it.
inline RadioUse ieee802154_receive(const Ieee802154& p, double frames, double psdu_bytes) {
  RadioUse u = ieee802154_send(p, frames, frames * p.poll_psdu);
  const double frame_s = (frames * p.shr_phr_bytes + psdu_bytes) * p.us_per_byte * 1e-6;
  const double wait_us = ieee802154_mean_backoff_us(p) + p.rampup_us + p.cca_us + p.turnaround_us;
  const double ack_s = ieee802154_frame_us(p, p.ack_psdu) * 1e-6;
  u.rx_s += frames * wait_us * 1e-6 + frame_s;
  u.tx_s += frames * (p.rampup_us * 1e-6 + ack_s);
  u.time_s += frames * (wait_us + p.turnaround_us + p.lifs_us) * 1e-6 + frame_s + frames * ack_s;
  u.cpu_s += frames * p.cpu_frame_us * 1e-6;
  u.frames = frames;
  return u;
}

inline RadioUse thread_transfer(const Ieee802154& p, double bytes, bool device_sends) {
  if (bytes <= 0)
    return {};
  const LowpanFrames f = lowpan_transfer(p, bytes);
  return device_sends ? ieee802154_send(p, f.frames, f.psdu_bytes)
                      : ieee802154_receive(p, f.frames, f.psdu_bytes);
}

// ---------------------------------------------------------------------------------------
// LoRa time on air (Semtech AN1200.13 "LoRa Modem Designer's Guide", and the SX1276
// datasheet §4.1.1.7):
//   T_sym      = 2^SF / BW
//   T_preamble = (n_preamble + 4.25) T_sym
//   n_payload  = 8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0)
// PL payload bytes, CRC 1 when the payload CRC is on (LoRaWAN uplinks; downlinks have
// none), IH 1 for an implicit header (LoRaWAN: explicit, 0), DE 1 with the low data rate
// optimisation (mandated when T_sym exceeds 16 ms: SF11 and SF12 at 125 kHz), CR 1 for 4/5.
// ---------------------------------------------------------------------------------------
struct LoraPhy {
  int sf;
  double bw_hz;
  int coding_rate;  // 1 for 4/5 ... 4 for 4/8
  int preamble_symbols;
  bool implicit_header;
};

inline double lora_symbol_s(const LoraPhy& p) {
  return std::pow(2.0, p.sf) / p.bw_hz;
}

inline bool lora_low_data_rate_optimize(const LoraPhy& p) {
  return lora_symbol_s(p) > 16e-3;
}

inline double lora_payload_symbols(const LoraPhy& p, double payload_bytes, bool crc) {
  const double de = lora_low_data_rate_optimize(p) ? 1 : 0;
  const double numerator =
      8 * payload_bytes - 4 * p.sf + 28 + (crc ? 16 : 0) - (p.implicit_header ? 20 : 0);
  const double blocks = std::ceil(numerator / (4 * (p.sf - 2 * de)));
  return 8 + std::max(blocks * (p.coding_rate + 4), 0.0);
}

inline double lora_time_on_air_s(const LoraPhy& p, double payload_bytes, bool crc) {
  return (p.preamble_symbols + 4.25 + lora_payload_symbols(p, payload_bytes, crc)) *
         lora_symbol_s(p);
}

// A receive window that finds no preamble stays open this many symbols: LoRaMac-node's
// RegionCommonComputeRxWindowParameters, max(ceil(((2 min_rx - 8) T_sym + 2 rx_error) / T_sym),
// min_rx), with min_rx symbols needed to detect a frame and the clock error allowed each side.
inline double lora_rx_window_symbols(double symbol_s, double min_rx_symbols, double rx_error_s) {
  return std::max(std::ceil(((2 * min_rx_symbols - 8) * symbol_s + 2 * rx_error_s) / symbol_s),
                  min_rx_symbols);
}

struct LoraWan {
  LoraPhy uplink;          // the data rate of the uplinks and of RX1
  LoraPhy rx2;             // RX2's data rate (EU868 default: DR0, SF12)
  double max_app_payload;  // N: application bytes per frame at this data rate
  double overhead_bytes;   // MHDR 1 + FHDR 7 + FPort 1 + MIC 4
  double duty_cycle;       // 0.01 in the EU868 sub-band of the default channels
  double min_rx_symbols;
  double rx_error_s;
  double receive_delay1_s;  // RX1 opens this long after an uplink
};

// Sending `bytes` as class A unconfirmed uplinks: each full frame, then RX1 and RX2 open
// and find nothing. The sub-band's duty cycle spaces the uplinks: each frame's air time
// is followed by air_time * (1 / duty_cycle - 1) of silence.
inline RadioUse lorawan_send(const LoraWan& w, double bytes) {
  RadioUse u;
  if (bytes <= 0)
    return u;
  const double full = std::floor(bytes / w.max_app_payload);
  const double rest = bytes - full * w.max_app_payload;
  const double full_toa = lora_time_on_air_s(w.uplink, w.max_app_payload + w.overhead_bytes, true);
  const double last_toa =
      rest > 0 ? lora_time_on_air_s(w.uplink, rest + w.overhead_bytes, true) : 0;
  const double frames = full + (rest > 0 ? 1 : 0);
  const double rx1 =
      lora_rx_window_symbols(lora_symbol_s(w.uplink), w.min_rx_symbols, w.rx_error_s) *
      lora_symbol_s(w.uplink);
  const double rx2 = lora_rx_window_symbols(lora_symbol_s(w.rx2), w.min_rx_symbols, w.rx_error_s) *
                     lora_symbol_s(w.rx2);
  u.tx_s = full * full_toa + last_toa;
  u.rx_s = frames * (rx1 + rx2);
  u.time_s = u.tx_s / w.duty_cycle;
  u.frames = frames;
  return u;
}

// Receiving `bytes` as class A downlinks in RX1 (same data rate, no payload CRC): each one
// opened by an empty uplink. The gateway's own duty cycle in the same sub-band spaces the
// downlinks, the device's spaces its uplinks: the slower of the two sets the pace.
inline RadioUse lorawan_receive(const LoraWan& w, double bytes) {
  RadioUse u;
  if (bytes <= 0)
    return u;
  const double full = std::floor(bytes / w.max_app_payload);
  const double rest = bytes - full * w.max_app_payload;
  const double frames = full + (rest > 0 ? 1 : 0);
  const double up = lora_time_on_air_s(w.uplink, w.overhead_bytes, true);
  const double full_down =
      lora_time_on_air_s(w.uplink, w.max_app_payload + w.overhead_bytes, false);
  const double last_down =
      rest > 0 ? lora_time_on_air_s(w.uplink, rest + w.overhead_bytes, false) : 0;
  u.tx_s = frames * up;
  u.rx_s = full * full_down + last_down;
  u.time_s = std::max(u.tx_s, u.rx_s) / w.duty_cycle + frames * w.receive_delay1_s;
  u.frames = frames;
  return u;
}

// ---------------------------------------------------------------------------------------
// NB-IoT: a published measurement of the energy and the connected time of one message
// (payload `message_bytes`); the data goes as ceil(bytes / message_bytes) such messages.
// ---------------------------------------------------------------------------------------
inline RadioUse nbiot_transfer(double bytes, double message_bytes, double message_j,
                               double message_s) {
  RadioUse u;
  if (bytes <= 0)
    return u;
  u.frames = ceil_div(bytes, message_bytes);
  u.fixed_j = u.frames * message_j;
  u.time_s = u.frames * message_s;
  return u;
}

}  // namespace energy

// report: turns the demo's logs into the comparison report, with a time and energy model of
// an nRF52840-class device that either learns the new classes itself or sends its samples
// to the cloud and receives what the cloud learned, over seven links side by side (BLE
// 1M/2M with Data Length Extension, BLE to a phone without it, Thread, LoRaWAN SF7 and SF12,
// NB-IoT).
//
//   demo_report --device LOG --restore LOG --cloud LOG --pretrain LOG
//               --elf-text N --elf-data N --elf-bss N [--extractor-bytes N] [--cpi LOG]
//               [--factory microtl|keras] [--alt-factory NAME --alt-pretrain LOG --alt-cloud LOG]
//               [--core NAME --board NAME [--charts-suffix S]]
//               [--out report.md] [--<constant> VALUE ...]
//
// Every constant of the model is an option (`demo_report --help` lists them with their
// values, units and sources; docs/energy_constants.md quotes each source). The model counts
// the device's marginal energy: what learning, or sending and receiving, adds to what the
// device spends anyway; sleep is left out of both. The arithmetic is energy_model.hpp.
// With --out, the chart data go next to the report: energy.csv and epochs.csv.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "energy_model.hpp"

namespace {

// ---------------------------------------------------------------------------------------
// Constants of the model: name, value, unit, source.
// ---------------------------------------------------------------------------------------
struct Constant {
  const char* name;
  double value;
  const char* unit;
  const char* source;
};

std::vector<Constant> constants = {
    // The device.
    {"cpu-mhz", 64.0, "MHz", "nRF52840 Product Specification (PS): 64 MHz Arm Cortex-M4F"},
    {"supply-volts", 3.0, "V",
     "Nordic PS current-consumption common conditions: supply 3 V on VDD (read in the nRF5340 "
     "PS's table; the nRF52840 PS uses the same conditions)"},
    {"cpu-ma", 3.3, "mA",
     "nRF52840 PS, CPU running CoreMark from flash at 64 MHz, DC/DC (52 uA/MHz). TODO: the "
     "table itself was not read; the PS's Compounded IS0 (8.1 mA) less IRADIO_TX1 (6.40 mA) "
     "suggests only 1.7 mA, so 3.3 mA favours the cloud"},
    {"default-cpi", 1.5, "cycles/instruction",
     "assumption, used only for a region build/demo/cpi.log does not estimate: the upper half "
     "of the 1.35-1.6 issue 13 expects of the float head on a Cortex-M4 (3-cycle VFMA, 2-cycle "
     "loads), so the default does not favour the device"},
    // Bluetooth LE on the nRF52840.
    {"ble-tx-ma", 6.40, "mA", "nRF52840 PS radio table, IRADIO_TX1: 0 dBm, 1 Mbps BLE, DC/DC"},
    {"ble-rx-ma", 6.26, "mA",
     "nRF52840 PS radio table, IRADIO_RX0: 1 Mbps BLE, DC/DC (also used for LE 2M: the table "
     "has no 2 Mbps row)"},
    {"radio-rampup-us", 40.0, "us",
     "Nordic PS RADIO timing: tTXEN,FAST and tRXEN,FAST, 40 us (fast ramp-up, Zephyr's default "
     "on nRF52), before every TX and every RX; the radio draws its TX/RX current (assumption)"},
    {"ble-tifs-us", 150.0, "us", "Bluetooth Core Spec Vol 6 Part B §4.1: T_IFS = 150 us"},
    {"ble-mic-bytes", 4.0, "bytes",
     "Core Spec Vol 6 Part B §2.4: 4-byte MIC on an encrypted link (assumption: a link carrying "
     "user data is encrypted)"},
    {"ble-dle-payload", 251.0, "bytes",
     "Core Spec 4.2+, LE Data Length Extension: 251-byte LL payload"},
    {"ble-dle-mtu", 247.0, "bytes",
     "ATT MTU that fills one 251-byte LL payload (247 + 4 L2CAP): 244-byte notifications"},
    {"ble-nodle-payload", 27.0, "bytes", "Core Spec 4.0/4.1 LL payload without DLE"},
    {"ble-nodle-mtu", 23.0, "bytes", "Core Spec: default ATT MTU, 20-byte notifications"},
    {"ble-conn-interval-ms", 7.5, "ms", "Core Spec: the shortest connection interval"},
    {"ble-phone-conn-interval-ms", 30.0, "ms",
     "measured: nRF52 to an iPhone 6 (iOS 9), 30 ms interval (anasimtiaz.com, 'Nordic nRF52 BLE - "
     "Continuous Data Transmission')"},
    {"ble-sca-ppm", 250.0, "ppm",
     "S140 SoftDevice Spec, peripheral timing: tSlaveNominalWindow = 2 x (16 + 16 + 250 + 250) us "
     "at a 1 s interval with 250 ppm sleep clocks on both sides; the device listens half the "
     "window, 16 + 16 + 2 x 250 ppm x interval, at each event"},
    {"ble-cpu-event-us", 148.0, "us",
     "S132 SoftDevice Spec, processor usage when connected (peripheral), typical: RadioPrepare "
     "40 + RadioStart 18 + PostProcessing 90 us per connection event"},
    {"ble-cpu-packet-us", 110.0, "us",
     "same table: RadioProcessing 30 us + 2 x tISR(4) 40 us (one per packet sent or received) "
     "per data packet and its empty acknowledgement; measured with 20-byte writes"},
    {"ble-1m-kbps", 700.0, "kbit/s",
     "application throughput, LE 1M with DLE: the commonly reported figure for nRF52 links "
     "(secondary; the model's own ceiling at 7.5 ms is 781 kbit/s). TODO: Nordic S140 SDS "
     "throughput table (located, figures not extracted)"},
    {"ble-2m-kbps", 1300.0, "kbit/s",
     "application throughput, LE 2M with DLE: the commonly reported figure (secondary; ceiling "
     "1386 kbit/s). TODO: the S140 SDS table"},
    {"ble-phone-kbps", 32.0, "kbit/s",
     "measured: nRF52 (S132 v2) to an iPhone 6, 6 x 20-byte notifications per 30 ms interval "
     "(anasimtiaz.com)"},
    // IEEE 802.15.4 / Thread on the nRF52840.
    {"thread-tx-ma", 6.40, "mA", "nRF52840 PS radio table, IRADIO_TX5: 0 dBm, 802.15.4, DC/DC"},
    {"thread-rx-ma", 6.53, "mA", "nRF52840 PS radio table, IRADIO_RX2: 802.15.4, DC/DC"},
    {"thread-us-per-byte", 32.0, "us", "IEEE 802.15.4-2006 §6.5: 2.4 GHz O-QPSK, 250 kbit/s"},
    {"thread-shr-phr-bytes", 6.0, "bytes", "IEEE 802.15.4-2006 §6.3: preamble 4 + SFD 1 + PHR 1"},
    {"thread-max-psdu", 127.0, "bytes", "IEEE 802.15.4-2006 §6.4.1: aMaxPHYPacketSize"},
    {"thread-mac-bytes", 11.0, "bytes",
     "IEEE 802.15.4-2006 §7.2.1: frame control 2 + sequence 1 + PAN 2 + short destination 2 + "
     "short source 2 (PAN ID compression) + FCS 2"},
    {"thread-security-bytes", 10.0, "bytes",
     "IEEE 802.15.4-2006 §7.6.2: auxiliary security header 6 (control 1, frame counter 4, key "
     "index 1: key identifier mode 1) + MIC 4; OpenThread sends ENC-MIC-32 with key id mode 1"},
    {"thread-ack-psdu", 5.0, "bytes",
     "IEEE 802.15.4-2006 §7.2.2.3: acknowledgement frame, 5 bytes"},
    {"thread-frag1-bytes", 4.0, "bytes", "RFC 4944 §5.3: first fragment header"},
    {"thread-fragn-bytes", 5.0, "bytes", "RFC 4944 §5.3: subsequent fragment header"},
    {"thread-ip-udp-bytes", 33.0, "bytes",
     "RFC 6282 field sizes: IPHC 2 + source interface id 8 (context-based) + off-mesh "
     "destination 16 + UDP NHC 1 + ports 4 + checksum 2"},
    {"thread-datagram-bytes", 1232.0, "bytes",
     "RFC 8200 §5: IPv6 minimum MTU 1280, less IPv6 40 and UDP 8"},
    {"thread-unit-backoff-us", 320.0, "us", "IEEE 802.15.4-2006: aUnitBackoffPeriod, 20 symbols"},
    {"thread-min-be", 3.0, "", "IEEE 802.15.4-2006 MAC PIB: macMinBE default 3 (secondary quote)"},
    {"thread-cca-us", 128.0, "us", "IEEE 802.15.4-2006 §6.9.9: CCA over 8 symbols"},
    {"thread-turnaround-us", 192.0, "us", "IEEE 802.15.4-2006: aTurnaroundTime, 12 symbols"},
    {"thread-lifs-us", 640.0, "us",
     "IEEE 802.15.4-2006: macLIFSPeriod, 40 symbols, after frames longer than 18 bytes"},
    {"thread-rampup-us", 40.0, "us", "Nordic PS RADIO timing: tTXEN,FAST 802.15.4, 40 us"},
    {"thread-poll-psdu", 22.0, "bytes",
     "derived: a secured MAC data request (MAC 11 + security 10 + command 1), how a sleepy end "
     "device fetches each frame from its parent"},
    {"thread-cpu-frame-us", 110.0, "us",
     "assumption: the BLE stack's CPU time per packet (ble-cpu-packet-us) for each frame sent "
     "or received"},
    // LoRaWAN EU868 with an SX1276 radio.
    {"lora-tx-ma", 41.54, "mA",
     "measured: Microchip SAM R34/WLR089 (SX1276 inside) datasheet §7.4.1, EU 868 MHz, TX power "
     "setting 15, PA off, MCU active, 3.3 V: counts the MCU's work during radio time too. TODO: "
     "SX1276 datasheet Table 6"},
    {"lora-rx-ma", 12.68, "mA", "same table: RX, 868 MHz, 125 kHz, MCU active"},
    {"lora-volts", 3.3, "V", "the same measurement's supply"},
    {"lora-bw-khz", 125.0, "kHz", "LoRaWAN Regional Parameters EU863-870: DR0-DR5 at 125 kHz"},
    {"lora-coding-rate", 1.0, "", "LoRaWAN: coding rate 4/5 (CR = 1 in Semtech's formula)"},
    {"lora-preamble-symbols", 8.0, "symbols", "LoRaWAN EU868: 8-symbol preamble"},
    {"lora-sf7-payload", 242.0, "bytes",
     "LoRaMac-node RegionEU868.h MaxPayloadOfDatarateEU868: N = 242 at DR5 (222 with a repeater)"},
    {"lora-sf12-payload", 51.0, "bytes", "same table: N = 51 at DR0"},
    {"lora-overhead-bytes", 13.0, "bytes",
     "LoRaWAN L2 spec frame fields: MHDR 1 + DevAddr 4 + FCtrl 1 + FCnt 2 + FPort 1 + MIC 4"},
    {"lora-duty-cycle", 0.01, "",
     "EU868 sub-band of the default channels 868.1/.3/.5 MHz: 1 % (LoRaMac-node EU868_BAND1; "
     "TTN forum quoting the EU863-870 rules)"},
    {"lora-rx2-sf", 12.0, "", "LoRaMac-node EU868_RX_WND_2_DR: RX2 at DR0, SF12"},
    {"lora-min-rx-symbols", 6.0, "symbols", "LoRaMac-node default MinRxSymbols"},
    {"lora-rx-error-ms", 10.0, "ms", "LoRaMac-node default SystemMaxRxError"},
    {"lora-receive-delay1-s", 1.0, "s",
     "LoRaMac-node EU868_RECEIVE_DELAY1: RX1 opens 1 s after TX"},
    // NB-IoT.
    {"nbiot-message-mc", 28.15, "mC",
     "measured: Røstad, 'IoT Protocol Stack Current Optimizations for the nRF9160 SiP' (NTNU / "
     "Nordic, 2020), DCPA test 2: 584-byte CoAP payload, CAT-NB1, 23 dBm, RAI on, charge per "
     "LTE event (395.03 mC without RAI)"},
    {"nbiot-volts", 3.7, "V", "same measurement's supply"},
    {"nbiot-message-bytes", 584.0, "bytes", "same measurement's payload"},
    {"nbiot-message-s", 1.47, "s", "same measurement: time in RRC connected mode with RAI"},
    // The cloud.
    {"cloud-speedup", 1.0, "x",
     "assumption: the cloud trains as fast as this host (2 cores) does, single-threaded"},
    {"cloud-latency-s", 0.0, "s",
     "assumption: network and queueing delay before and after the cloud's training"},
    {"upload-bytes-per-sample", 785.0, "bytes", "a 28x28 8-bit image and its label"},
};

double constant(const std::string& name) {
  for (const auto& c : constants) {
    if (name == c.name)
      return c.value;
  }
  std::fprintf(stderr, "report: no constant %s\n", name.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------------------------------
// Logs: lines "PREFIX key=value key=value ...".
// ---------------------------------------------------------------------------------------
using Fields = std::map<std::string, std::string>;

std::vector<Fields> read_log(const std::string& path, const std::string& prefix) {
  std::vector<Fields> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix + " ", 0) != 0)
      continue;
    Fields f;
    std::istringstream words(line.substr(prefix.size() + 1));
    std::string word;
    while (words >> word) {
      // "key=value", or a bare word ("config", "memory"): a key with no value.
      const auto eq = word.find('=');
      if (eq != std::string::npos) {
        f[word.substr(0, eq)] = word.substr(eq + 1);
      } else {
        f[word] = "";
      }
    }
    lines.push_back(f);
  }
  return lines;
}

// The first line that has every (key, value) of `match`.
const Fields* find(const std::vector<Fields>& lines, const Fields& match) {
  for (const auto& f : lines) {
    bool ok = true;
    for (const auto& [k, v] : match) {
      const auto it = f.find(k);
      ok = ok && it != f.end() && (v.empty() || it->second == v);
    }
    if (ok)
      return &f;
  }
  return nullptr;
}

double number(const Fields* f, const std::string& key) {
  if (f == nullptr)
    return std::numeric_limits<double>::quiet_NaN();
  const auto it = f->find(key);
  return it == f->end() ? std::numeric_limits<double>::quiet_NaN()
                        : std::strtod(it->second.c_str(), nullptr);
}

std::string text(const Fields* f, const std::string& key) {
  if (f == nullptr)
    return "";
  const auto it = f->find(key);
  return it == f->end() ? "" : it->second;
}

std::string fmt(double v, int decimals = 2) {
  if (std::isnan(v))
    return "n/a";
  char out[64];
  std::snprintf(out, sizeof out, "%.*f", decimals, v);
  return out;
}

std::string thousands(double v) {
  if (std::isnan(v))
    return "n/a";
  std::string digits = std::to_string(static_cast<long long>(std::llround(v)));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-')
      out += ',';
    out += digits[i];
  }
  return out;
}

// Three significant digits, at most `max_decimals` decimals.
std::string sig3(double v, int max_decimals = 3) {
  if (std::isnan(v))
    return "n/a";
  const double a = std::fabs(v);
  if (a >= 1000)
    return thousands(v);
  const int decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : max_decimals;
  return fmt(v, std::min(decimals, max_decimals));
}

std::string energy_text(double joules) {
  if (std::isnan(joules))
    return "n/a";
  return joules < 1 ? sig3(joules * 1e3) + " mJ" : sig3(joules) + " J";
}

std::string duration_text(double s) {
  if (std::isnan(s))
    return "n/a";
  if (s < 120)
    return sig3(s) + " s";
  if (s < 2 * 3600)
    return sig3(s / 60) + " min";
  if (s < 48 * 3600)
    return sig3(s / 3600) + " h";
  return sig3(s / 86400) + " d";
}

std::string rate_text(double bits_per_s) {
  return bits_per_s >= 1000 ? sig3(bits_per_s * 1e-3) + " kbit/s" : sig3(bits_per_s) + " bit/s";
}

// cloud / device: above 1 the device spends less; bold when it does.
std::string ratio_text(double cloud, double device) {
  const double r = cloud / device;
  if (std::isnan(r))
    return "n/a";
  const std::string v = r >= 1 ? sig3(r, 2) : sig3(r, 3);
  return r >= 1 ? "**" + v + "**" : v;
}

// ---------------------------------------------------------------------------------------
// The learning strategies side by side (config.hpp): one firmware and one cloud baseline
// per strategy, the same samples, recipe and energy model.
// ---------------------------------------------------------------------------------------
struct StrategyRow {
  std::string name;
  std::vector<Fields> device, cloud;
  Fields line;  // scripts/demo's STRATEGY line
};

std::string strategy_trains(const std::string& name) {
  if (name == "last")
    return "the last layer (Dense 32 -> 10; Dense 144 -> 32 frozen, float)";
  if (name == "head")
    return "the float head (Dense 144 -> 32 -> 10)";
  if (name == "biases")
    return "the head + the int32 biases of the 3 int8 convolutions";
  if (name == "conv3")
    return "the head + conv3's int8 weights and bias (float master copy)";
  return "?";
}

std::string strategy_cache(const std::string& name) {
  if (name == "last")
    return "float hidden activation";
  if (name == "head")
    return "int8 features";
  if (name == "biases")
    return "int8 image";
  if (name == "conv3")
    return "int8 pool2 output";
  return "?";
}

void usage() {
  std::printf(
      "demo_report --device LOG --restore LOG --cloud LOG --pretrain LOG --elf-text N --elf-data N "
      "--elf-bss N [--extractor-bytes N] [--cpi LOG] [--out FILE] [--<constant> VALUE ...]\n\n"
      "  --extractor-bytes  flash bytes of the int8 extractor's parameters (MicroTL's baseline "
      "sends them back with the head)\n"
      "  --cpi              cycles-per-instruction estimates: lines 'DEMO cpi region=R "
      "instructions=N estimated_cycles=C' (R: extraction, head_epoch or head_step)\n"
      "  --out              the report; energy.csv and epochs.csv go next to it\n"
      "  --strategy         the learning strategy of the run above (default head)\n"
      "  --core, --board    the device's core and QEMU board (default Cortex-M4F, mps2-an386); "
      "the time and energy model and the Cortex-M4 cycle estimate are the M4F's (an "
      "nRF52840's): another core's report gives instructions and vector instructions instead\n"
      "  --charts-suffix    appended to the charts' names the report embeds (accuracy.svg)\n"
      "  --strategies       the strategies table: lines 'STRATEGY name=S device=LOG cloud=LOG "
      "elf_data=N elf_bss=N store_bytes=N store_differ=N' (scripts/demo)\n"
      "  --factory          who pretrained the device's factory model: microtl (demo_pretrain, "
      "the default) or keras (host/pretrain_keras.py)\n"
      "  --alt-factory, --alt-pretrain, --alt-cloud\n"
      "                     the other path's name, pretraining log and cloud-baseline log: the "
      "report puts both paths' accuracy side by side\n\n"
      "constants (default, unit, source):\n");
  for (const auto& c : constants) {
    std::printf("  --%-27s %10g %-9s %s\n", c.name, c.value, c.unit, c.source);
  }
}

// ---------------------------------------------------------------------------------------
// The links, built from the constants.
// ---------------------------------------------------------------------------------------
energy::BleLink ble_link(double mbps, double preamble, double ll_payload, double att_mtu,
                         double interval_ms, double kbps) {
  const double listen_us =
      16 + 16 + 2 * constant("ble-sca-ppm") * 1e-6 * interval_ms * 1e3;  // half the window
  return energy::BleLink{{mbps, preamble},
                         ll_payload,
                         att_mtu,
                         constant("ble-mic-bytes"),
                         constant("ble-tifs-us"),
                         constant("radio-rampup-us"),
                         interval_ms,
                         listen_us,
                         constant("ble-cpu-event-us"),
                         constant("ble-cpu-packet-us"),
                         kbps};
}

energy::Ieee802154 thread_link() {
  return energy::Ieee802154{constant("thread-us-per-byte"),     constant("thread-shr-phr-bytes"),
                            constant("thread-max-psdu"),        constant("thread-mac-bytes"),
                            constant("thread-security-bytes"),  constant("thread-ack-psdu"),
                            constant("thread-frag1-bytes"),     constant("thread-fragn-bytes"),
                            constant("thread-ip-udp-bytes"),    constant("thread-datagram-bytes"),
                            constant("thread-unit-backoff-us"), constant("thread-min-be"),
                            constant("thread-cca-us"),          constant("thread-turnaround-us"),
                            constant("thread-lifs-us"),         constant("thread-rampup-us"),
                            constant("thread-poll-psdu"),       constant("thread-cpu-frame-us")};
}

energy::LoraWan lorawan(int sf, double max_payload) {
  const auto phy = [](int spreading) {
    return energy::LoraPhy{spreading, constant("lora-bw-khz") * 1e3,
                           static_cast<int>(constant("lora-coding-rate")),
                           static_cast<int>(constant("lora-preamble-symbols")), false};
  };
  return energy::LoraWan{phy(sf),
                         phy(static_cast<int>(constant("lora-rx2-sf"))),
                         max_payload,
                         constant("lora-overhead-bytes"),
                         constant("lora-duty-cycle"),
                         constant("lora-min-rx-symbols"),
                         constant("lora-rx-error-ms") * 1e-3,
                         constant("lora-receive-delay1-s")};
}

// One scenario: what sending the samples up and the head (a) or the whole model (b) down
// costs the device.
struct Scenario {
  std::string name;
  std::string label;  // short, for the text and the chart
  std::string key;
  energy::RadioUse up, down_head, down_model;
  double volts, tx_ma, rx_ma, cpu_ma;
  double ceiling_kbps = std::nan("");  // BLE: the link's own ceiling

  double joules(const energy::RadioUse& u) const {
    return energy::joules(u, volts, tx_ma, rx_ma, cpu_ma);
  }
  double head_j() const { return joules(up) + joules(down_head); }
  double model_j() const { return joules(up) + joules(down_model); }
};

Scenario make_scenario(const std::string& name, const std::string& label, const std::string& key,
                       double up_bytes, double head_bytes, double model_bytes) {
  Scenario s;
  s.name = name;
  s.label = label;
  s.key = key;
  s.volts = constant("supply-volts");
  s.cpu_ma = constant("cpu-ma");
  if (key.rfind("ble", 0) == 0) {
    energy::BleLink l =
        key == "ble1m" ? ble_link(1, 1, constant("ble-dle-payload"), constant("ble-dle-mtu"),
                                  constant("ble-conn-interval-ms"), constant("ble-1m-kbps"))
        : key == "ble2m"
            ? ble_link(2, 2, constant("ble-dle-payload"), constant("ble-dle-mtu"),
                       constant("ble-conn-interval-ms"), constant("ble-2m-kbps"))
            : ble_link(1, 1, constant("ble-nodle-payload"), constant("ble-nodle-mtu"),
                       constant("ble-phone-conn-interval-ms"), constant("ble-phone-kbps"));
    s.ceiling_kbps = energy::ble_max_throughput_kbps(l);
    s.up = energy::ble_transfer(up_bytes, l, true);
    s.down_head = energy::ble_transfer(head_bytes, l, false);
    s.down_model = energy::ble_transfer(model_bytes, l, false);
    s.tx_ma = constant("ble-tx-ma");
    s.rx_ma = constant("ble-rx-ma");
  } else if (key == "thread") {
    const energy::Ieee802154 p = thread_link();
    s.up = energy::thread_transfer(p, up_bytes, true);
    s.down_head = energy::thread_transfer(p, head_bytes, false);
    s.down_model = energy::thread_transfer(p, model_bytes, false);
    s.tx_ma = constant("thread-tx-ma");
    s.rx_ma = constant("thread-rx-ma");
  } else if (key.rfind("lora", 0) == 0) {
    const energy::LoraWan w = key == "lora_sf7" ? lorawan(7, constant("lora-sf7-payload"))
                                                : lorawan(12, constant("lora-sf12-payload"));
    s.up = energy::lorawan_send(w, up_bytes);
    s.down_head = energy::lorawan_receive(w, head_bytes);
    s.down_model = energy::lorawan_receive(w, model_bytes);
    // The measured module currents include its MCU at work: no CPU term of its own.
    s.volts = constant("lora-volts");
    s.tx_ma = constant("lora-tx-ma");
    s.rx_ma = constant("lora-rx-ma");
    s.cpu_ma = 0;
  } else {  // nbiot: a measured energy per message covers modem and MCU alike
    const double message_j = constant("nbiot-message-mc") * 1e-3 * constant("nbiot-volts");
    const double bytes = constant("nbiot-message-bytes");
    const double seconds = constant("nbiot-message-s");
    s.up = energy::nbiot_transfer(up_bytes, bytes, message_j, seconds);
    s.down_head = energy::nbiot_transfer(head_bytes, bytes, message_j, seconds);
    s.down_model = energy::nbiot_transfer(model_bytes, bytes, message_j, seconds);
    s.tx_ma = s.rx_ma = s.cpu_ma = 0;
  }
  return s;
}

// Cycles per instruction of a region: estimated (cpi.log) or the default.
struct Cpi {
  double value;
  bool estimated;
  double instructions;
  double cycles;
};

Cpi region_cpi(const std::vector<Fields>& cpi_log, std::initializer_list<const char*> regions) {
  for (const char* region : regions) {
    const Fields* f = find(cpi_log, {{"cpi", ""}, {"region", region}, {"estimated_cycles", ""}});
    const double insn = number(f, "instructions");
    const double cycles = number(f, "estimated_cycles");
    if (f != nullptr && insn > 0 && cycles > 0)
      return Cpi{cycles / insn, true, insn, cycles};
  }
  return Cpi{constant("default-cpi"), false, std::nan(""), std::nan("")};
}

// "Cortex-M55" -> "cortex-m55" (the preset's name).
std::string lower(std::string name) {
  for (char& ch : name)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

std::string cpi_source(const Cpi& c) {
  return c.estimated ? "estimated from the kernels' instruction mix and Cortex-M4 timings"
                     : "(default, not estimated)";
}

}  // namespace

// The fleet report's energy (tools/fleet, issue 17), from the same model and constants:
//   demo_report --fleet-up-bytes U --fleet-down-bytes D --fleet-raw-bytes R
//               --fleet-learning-instructions L --fleet-extraction-instructions E [--cpi LOG]
// prints one line for the device's CPU and one per link:
//   FLEET_ENERGY device learning_j=.. extraction_j=.. learning_cpi=.. extraction_cpi=..
//   FLEET_ENERGY link=KEY round_j=.. round_s=.. raw_j=.. raw_s=.. label=...
// round: receiving D bytes (the server's model) and sending U (the device's update); raw:
// sending R bytes (the device's samples, once).
int fleet_energy(std::map<std::string, std::string>& args) {
  const auto value = [&](const char* key) { return std::strtod(args[key].c_str(), nullptr); };
  const auto cpi_log =
      args.count("cpi") != 0 ? read_log(args["cpi"], "DEMO") : std::vector<Fields>{};
  const Cpi cpi_extraction = region_cpi(cpi_log, {"extraction"});
  const Cpi cpi_head = region_cpi(cpi_log, {"head_epoch", "head_step"});
  const double mhz = constant("cpu-mhz");
  const double cpu_w = constant("cpu-ma") * 1e-3 * constant("supply-volts");
  std::printf(
      "FLEET_ENERGY device learning_j=%.6g extraction_j=%.6g learning_cpi=%.4g "
      "extraction_cpi=%.4g cpi_estimated=%d\n",
      energy::cpu_seconds(value("fleet-learning-instructions"), cpi_head.value, mhz) * cpu_w,
      energy::cpu_seconds(value("fleet-extraction-instructions"), cpi_extraction.value, mhz) *
          cpu_w,
      cpi_head.value, cpi_extraction.value, cpi_head.estimated && cpi_extraction.estimated ? 1 : 0);
  const double up = value("fleet-up-bytes");
  const double down = value("fleet-down-bytes");
  const double raw = value("fleet-raw-bytes");
  for (const char* key :
       {"ble1m", "ble2m", "ble_phone", "thread", "lora_sf7", "lora_sf12", "nbiot"}) {
    // make_scenario's up / down_head / down_model: the update up, the model down, the samples up.
    const Scenario round = make_scenario(key, key, key, up, down, raw);
    const Scenario samples = make_scenario(key, key, key, raw, 0, 0);
    std::printf("FLEET_ENERGY link=%s round_j=%.6g round_s=%.6g raw_j=%.6g raw_s=%.6g\n", key,
                round.head_j(), round.up.time_s + round.down_head.time_s,
                samples.joules(samples.up), samples.up.time_s);
  }
  return 0;
}

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
      usage();
      return 2;
    }
    const std::string key = a.substr(2);
    const std::string value = argv[++i];
    bool is_constant = false;
    for (auto& c : constants) {
      if (key == c.name) {
        c.value = std::strtod(value.c_str(), nullptr);
        is_constant = true;
      }
    }
    if (!is_constant)
      args[key] = value;
  }
  if (args.count("fleet-up-bytes") != 0) {
    return fleet_energy(args);
  }
  for (const char* required : {"device", "restore", "cloud", "pretrain"}) {
    if (args.count(required) == 0) {
      usage();
      return 2;
    }
  }

  const auto device = read_log(args["device"], "DEMO");
  const auto restore = read_log(args["restore"], "DEMO");
  const auto cloud = read_log(args["cloud"], "CLOUD");
  const auto pretrain = read_log(args["pretrain"], "PRETRAIN");
  const auto cpi_log =
      args.count("cpi") != 0 ? read_log(args["cpi"], "DEMO") : std::vector<Fields>{};
  const Fields* config = find(device, {{"config", ""}, {"samples_per_class", ""}});
  const Fields* memory = find(device, {{"memory", ""}, {"inference_arena", ""}});
  const Fields* before = find(device, {{"phase", "before"}, {"old_classes", ""}});
  const Fields* after = find(device, {{"phase", "after"}, {"old_classes", ""}});
  const Fields* restored = find(restore, {{"phase", "restored"}, {"old_classes", ""}});
  const Fields* learning = find(device, {{"session_instructions", ""}});
  const Fields* extraction = find(device, {{"per_sample", ""}});
  const Fields* saved = find(device, {{"blob_bytes", ""}});
  const Fields* cloud_learning = find(cloud, {{"session_ns", ""}});
  const Fields* cloud_before = find(cloud, {{"phase", "before"}, {"old_classes", ""}});
  const Fields* cloud_after = find(cloud, {{"phase", "after"}, {"old_classes", ""}});
  const Fields* factory = find(pretrain, {{"float_accuracy", ""}});
  // The epochs run (early stopping may end before the configured number).
  const double epochs_run = !std::isnan(number(learning, "epochs")) ? number(learning, "epochs")
                                                                    : number(config, "epochs");
  if (config == nullptr || after == nullptr || learning == nullptr || cloud_learning == nullptr) {
    std::fprintf(
        stderr,
        "report: the device or cloud log is incomplete (did the firmware run to the end?)\n");
    return 1;
  }

  // The device's core and QEMU board (scripts/demo --target). The time and energy model is the
  // nRF52840's, a Cortex-M4F at 64 MHz, and the cycle estimate uses the Cortex-M4's timings:
  // another core's report gives its instructions (and how many are vector instructions) and
  // leaves both out rather than apply them to a core they do not describe.
  const std::string core = args.count("core") != 0 ? args["core"] : "Cortex-M4F";
  const std::string board = args.count("board") != 0 ? args["board"] : "mps2-an386";
  const bool energy_model = core == "Cortex-M4F";
  const std::string charts_suffix = args.count("charts-suffix") != 0 ? args["charts-suffix"] : "";

  std::ostringstream r;
  r << "# microtl transfer-learning demo: report" << (energy_model ? "" : ", " + core) << "\n\n";
  // The command that makes this report (the M4F's: the default target).
  const std::string demo_command =
      energy_model ? std::string("scripts/demo") : "scripts/demo --target " + lower(core);
  r << "Produced by `" << demo_command
    << "`; every figure below comes from that run (device figures: the firmware in QEMU " << board
    << ", " << core << ", instructions counted with -icount; host figures: this machine).\n\n";
  if (!energy_model) {
    r << "The time and energy model of the Cortex-M4F report (REPORT.md: an nRF52840, a "
         "Cortex-M4F at 64 MHz, and cycles estimated from the Cortex-M4's instruction timings) "
         "does not describe a "
      << core
      << ", and is left out: the device's figures here are instructions counted in QEMU, which "
         "counts a vector instruction as one instruction and models no cycles.\n\n";
  }

  r << "## Accuracy on the held-out test set\n\n";
  r << "Factory model (host, " << (factory ? "7" : "?") << " classes): float "
    << fmt(number(factory, "float_accuracy")) << " %, int8 extractor "
    << fmt(number(factory, "int8_accuracy")) << " % ("
    << fmt(number(factory, "int8_accuracy") - number(factory, "float_accuracy")) << " points).\n\n";
  r << "Device, " << fmt(number(config, "test_per_class"), 0) << " test images per class, "
    << fmt(number(config, "samples_per_class"), 0) << " learning samples per class, "
    << fmt(epochs_run, 0) << " epochs (of at most " << fmt(number(config, "epochs"), 0) << "):\n\n";
  r << "| class | | before learning (factory head) | after learning | after a reboot (restored) "
       "|\n|---|---|---:|---:|---:|\n";
  for (int c = 0; c < 10; ++c) {
    const std::string cls = std::to_string(c);
    const Fields* b = find(device, {{"phase", "before"}, {"class", cls}});
    const Fields* a = find(device, {{"phase", "after"}, {"class", cls}});
    const Fields* s = find(restore, {{"phase", "restored"}, {"class", cls}});
    std::string name = text(b, "name");
    for (char& ch : name)
      ch = ch == '_' ? ' ' : ch;  // the logs write names without spaces
    const bool is_new = number(b, "new") == 1.0;
    r << "| " << c << " " << name << " | " << (is_new ? "**new**" : "old") << " | "
      << fmt(number(b, "accuracy"), 1) << " % | " << fmt(number(a, "accuracy"), 1) << " % | "
      << fmt(number(s, "accuracy"), 1) << " % |\n";
  }
  r << "| **old classes** | | " << fmt(number(before, "old_classes")) << " % | "
    << fmt(number(after, "old_classes")) << " % | " << fmt(number(restored, "old_classes"))
    << " % |\n";
  r << "| **new classes** | | " << fmt(number(before, "new_classes")) << " % | "
    << fmt(number(after, "new_classes")) << " % | " << fmt(number(restored, "new_classes"))
    << " % |\n";
  r << "| **all** | | " << fmt(number(before, "accuracy")) << " % | "
    << fmt(number(after, "accuracy")) << " % | " << fmt(number(restored, "accuracy")) << " % |\n\n";
  r << "The cloud baseline (the same session on the host) reaches "
    << fmt(number(cloud_after, "accuracy")) << " % (old " << fmt(number(cloud_after, "old_classes"))
    << " %, new " << fmt(number(cloud_after, "new_classes"))
    << " %). Host and device run the same code on the same samples; the int8 features of the first "
       "test images are identical on both (reference_mismatches = "
    << fmt(number(after, "reference_mismatches"), 0) << ").\n\n";

  // ---- The factory model's two paths: microtl's pretraining, or Keras + TFLite + import. --
  const std::string factory_name = args.count("factory") != 0 ? args["factory"] : "microtl";
  if (args.count("alt-factory") != 0) {
    const auto alt_pretrain = read_log(args["alt-pretrain"], "PRETRAIN");
    const auto alt_cloud = read_log(args["alt-cloud"], "CLOUD");
    const Fields* alt_factory = find(alt_pretrain, {{"float_accuracy", ""}});
    const Fields* alt_after = find(alt_cloud, {{"phase", "after"}, {"old_classes", ""}});
    const auto path_name = [](const std::string& name) {
      return name == "keras" ? std::string("Keras (TensorFlow ") +
                                   "&rarr; TFLite's int8 converter "
                                   "&rarr; `scripts/import`'s tool)"
                             : std::string(
                                   "microtl (`demo_pretrain`: its trainer, its int8 "
                                   "quantization)");
    };
    const auto tflite_cell = [](const Fields* f) {
      const double v = number(f, "tflite_int8_accuracy");
      return std::isnan(v) ? std::string("&ndash;") : fmt(v) + " %";
    };
    const auto learned_cell = [](const Fields* f) {
      return fmt(number(f, "old_classes")) + " / " + fmt(number(f, "new_classes")) + " / " +
             fmt(number(f, "accuracy")) + " %";
    };
    r << "### The factory model: microtl's pretraining or Keras\n\n";
    r << "The same factory model (model.hpp's layers, the same training images, epochs, batch, "
         "Adam step and He-uniform initialisation) pretrained two ways; the device above learned "
         "from the **"
      << factory_name << "** one (`" << demo_command << " --factory " << factory_name
      << "`). The other one's learning session ran on the host (`demo_cloud`: the same code, "
         "which computes the device's floats bit for bit: see Learning strategies, host = "
         "device):\n\n";
    r << "| factory model pretrained by | factory classes: float | int8 extractor + float head | "
         "whole model in int8 (TFLite) | after learning: old / new / all | pretraining on this "
         "host |\n|---|---:|---:|---:|---:|---:|\n";
    r << "| " << path_name(factory_name) << ", **the device's** | "
      << fmt(number(factory, "float_accuracy")) << " % | " << fmt(number(factory, "int8_accuracy"))
      << " % | " << tflite_cell(factory) << " | " << learned_cell(after) << " | "
      << duration_text(number(factory, "seconds")) << " |\n";
    r << "| " << path_name(args["alt-factory"]) << " | "
      << fmt(number(alt_factory, "float_accuracy")) << " % | "
      << fmt(number(alt_factory, "int8_accuracy")) << " % | " << tflite_cell(alt_factory) << " | "
      << learned_cell(alt_after) << " | " << duration_text(number(alt_factory, "seconds"))
      << " |\n\n";
    const Fields* keras = factory_name == "keras" ? factory : alt_factory;
    r << "Factory classes: the 7,000 test images of the 7 factory classes; after learning: "
      << fmt(number(config, "test_per_class"), 0)
      << " test images per class, as above. The Keras model's int8 features of the reference "
         "test images are TFLite's interpreter's (reference kernels), and microtl reproduces "
         "them byte for byte (reference_mismatches = "
      << fmt(number(factory_name == "keras" ? after : alt_after, "reference_mismatches"), 0)
      << "). TensorFlow " << text(keras, "tensorflow") << ", the .tflite "
      << thousands(number(keras, "tflite_bytes")) << " bytes.\n\n";
  }

  // ---- Accuracy per epoch: the host's replay of the device's session. ------------------
  std::vector<const Fields*> cloud_epochs;
  std::vector<const Fields*> device_epochs;
  for (int e = 1;; ++e) {
    const Fields* c = find(cloud, {{"epoch", std::to_string(e)}, {"accuracy", ""}});
    if (c == nullptr)
      break;
    cloud_epochs.push_back(c);
    device_epochs.push_back(find(device, {{"epoch", std::to_string(e)}, {"loss", ""}}));
  }
  bool losses_equal = !cloud_epochs.empty();
  for (std::size_t e = 0; e < cloud_epochs.size(); ++e) {
    losses_equal = losses_equal && device_epochs[e] != nullptr &&
                   text(device_epochs[e], "loss") == text(cloud_epochs[e], "loss");
  }
  const Fields* last_epoch = cloud_epochs.empty() ? nullptr : cloud_epochs.back();
  bool final_equal = last_epoch != nullptr;
  for (const char* key : {"accuracy", "old_classes", "new_classes"}) {
    final_equal = final_equal && text(last_epoch, key) == text(after, key);
  }
  if (!cloud_epochs.empty()) {
    r << "### Accuracy per epoch\n\n![accuracy of the old, new and all classes per epoch]"
         "(accuracy"
      << charts_suffix << ".svg)\n\n";
    r << "The device evaluates only before and after learning; the curve is the host's replay of "
         "the device's session (`demo_cloud` runs the same learning code on the same samples, and "
         "evaluates the test set after every epoch; it computes the device's floats bit for bit: "
         "see Learning strategies, host = device). Checked in this run: the replay's loss equals "
         "the device's at every epoch ("
      << (losses_equal ? "yes" : "**NO**")
      << "), and its last epoch's accuracy equals the device's "
      << "final figures (" << (final_equal ? "yes" : "**NO**") << ": "
      << text(last_epoch, "accuracy") << " % all, " << text(last_epoch, "old_classes") << " % old, "
      << text(last_epoch, "new_classes") << " % new).\n\n";
  }

  // ---- Work and memory. -----------------------------------------------------------------
  const double samples = number(extraction, "samples");
  const double session_insn = number(learning, "session_instructions");
  const double extraction_insn = number(learning, "extraction_instructions");
  const double training_insn = number(learning, "training_instructions");
  r << "## Work on the device (instructions, not cycles)\n\n| what | instructions |\n|---|---:|\n";
  r << "| feature extraction, per sample (int8 extractor) | "
    << thousands(number(extraction, "per_sample")) << " |\n";
  r << "| feature extraction, " << fmt(samples, 0) << " samples | " << thousands(extraction_insn)
    << " |\n";
  r << "| a head epoch (" << fmt(samples, 0) << " samples, forward + backward + SGD; mean of "
    << fmt(epochs_run, 0) << ") | " << thousands(training_insn / epochs_run) << " |\n";
  r << "| the head's learning, " << fmt(epochs_run, 0) << " epochs | " << thousands(training_insn)
    << " |\n";
  r << "| the whole learning session | " << thousands(session_insn) << " |\n";
  r << "| saving the head (" << fmt(number(saved, "blob_bytes"), 0) << "-byte blob) | "
    << thousands(number(saved, "instructions")) << " |\n\n";

  const Cpi cpi_extraction = region_cpi(cpi_log, {"extraction"});
  const Cpi cpi_head = region_cpi(cpi_log, {"head_epoch", "head_step"});
  if (energy_model) {
    r << "Cycles per instruction (an estimate: QEMU counts instructions, not cycles):\n\n"
         "| region | cycles per instruction | from |\n|---|---:|---|\n";
    r << "| extraction (int8 convolutions) | " << fmt(cpi_extraction.value, 3) << " | "
      << cpi_source(cpi_extraction);
    if (cpi_extraction.estimated)
      r << ": " << thousands(cpi_extraction.cycles) << " cycles for "
        << thousands(cpi_extraction.instructions) << " instructions";
    r << " |\n| head learning (float) | " << fmt(cpi_head.value, 3) << " | "
      << cpi_source(cpi_head);
    if (cpi_head.estimated)
      r << ": " << thousands(cpi_head.cycles) << " cycles for " << thousands(cpi_head.instructions)
        << " instructions";
    r << " |\n\n";
  } else {
    // The Cortex-M4's timings do not apply: the probe's regions by instruction class instead.
    r << "Vector and scalar instructions (scripts/lib/cpi_estimate.py on `demo_cpi_probe`, the "
         "same work in small portions; vector: Helium (MVE) or FP, the T32 coprocessor space):\n\n"
         "| region | instructions | vector | scalar | cycles on a real "
      << core << ", estimate |\n|---|---:|---:|---:|---:|\n";
    const auto mix_row = [&](const char* what, std::initializer_list<const char*> regions) {
      const Fields* f = nullptr;
      for (const char* region : regions)
        if (f == nullptr)
          f = find(cpi_log, {{"cpi", ""}, {"region", region}, {"vector", ""}});
      const double insn = number(f, "instructions");
      const double vector = number(f, "vector");
      r << "| " << what << " | " << thousands(insn) << " | " << thousands(vector) << " | "
        << thousands(insn - vector) << " | " << thousands(insn) << "&ndash;"
        << thousands(insn + vector) << " |\n";
    };
    mix_row("extraction, one sample (int8 convolutions)", {"extraction"});
    mix_row("head learning, one epoch over the probe's smaller cache (float)",
            {"head_epoch", "head_step"});
    r << "\nThe cycle estimate is a range under a stated assumption, not a measurement: one cycle "
         "per scalar instruction, one to two per vector instruction (the "
      << core
      << " is dual-beat: a 128-bit MVE instruction is four beats, two cycles, and the core "
         "overlaps the beats of consecutive vector instructions of different kinds), no memory "
         "stalls; the FP instructions of the head's float code count in the vector column. "
         "bench/README.md gives the kernels' figures on this core.\n\n";
  }

  const double text_bytes = std::strtod(args["elf-text"].c_str(), nullptr);
  const double data_bytes = std::strtod(args["elf-data"].c_str(), nullptr);
  const double bss_bytes = std::strtod(args["elf-bss"].c_str(), nullptr);
  // The third column, the nRF52840's memory, only where the report models that chip.
  const auto cell = [&](const char* nrf) {
    return !energy_model    ? std::string(" |\n")
           : nrf[0] == '\0' ? std::string(" | |\n")
                            : std::string(" | ") + nrf + " |\n";
  };
  r << "## Memory\n\n"
    << (energy_model ? "| | bytes | nRF52840 |\n|---|---:|---:|\n" : "| | bytes |\n|---|---:|\n");
  r << "| flash (ELF text + data) | " << thousands(text_bytes + data_bytes) << cell("1,048,576");
  r << "| static RAM (ELF data + bss) | " << thousands(data_bytes + bss_bytes) << cell("262,144");
  r << "| of which: inference arena (constexpr) | " << thousands(number(memory, "inference_arena"))
    << cell("");
  r << "| of which: training arena (constexpr: gradients, optimizer state, saved activations) | "
    << thousands(number(memory, "training_arena")) << cell("");
  r << "| of which: feature cache (" << fmt(number(memory, "cache_bytes_per_sample"), 0)
    << " bytes per sample, int8) | " << thousands(number(memory, "feature_cache")) << cell("");
  r << "| of which: model state (head parameters in RAM) | "
    << thousands(number(memory, "model_state")) << cell("");
  r << "| parameter storage (two slots) | " << thousands(number(memory, "parameter_storage"))
    << cell("(flash)") << "\n";
  r << "The ELF's RAM figure includes newlib's semihosting buffers of the QEMU board; the stack is "
       "not in it.\n\n";

  // ---- Time and energy. -------------------------------------------------------------------
  const double mhz = constant("cpu-mhz");
  const double cpu_w = constant("cpu-ma") * 1e-3 * constant("supply-volts");
  // A device that classifies what it senses runs the extractor on those samples anyway; then
  // what learning adds is the head's training alone.
  const double learn_s = energy::cpu_seconds(training_insn, cpi_head.value, mhz);
  const double all_s = learn_s + energy::cpu_seconds(extraction_insn, cpi_extraction.value, mhz);
  const double learn_j = learn_s * cpu_w;
  const double all_j = all_s * cpu_w;

  const double up_bytes = samples * constant("upload-bytes-per-sample");
  const double head_bytes = number(saved, "blob_bytes");
  const double extractor_bytes = args.count("extractor-bytes") != 0
                                     ? std::strtod(args["extractor-bytes"].c_str(), nullptr)
                                     : std::nan("");
  const double model_bytes = extractor_bytes + head_bytes;
  const double speedup = constant("cloud-speedup");
  const double head_train_s = number(cloud_learning, "session_ns") * 1e-9 / speedup;
  const double model_train_s = number(factory, "seconds") / speedup;
  const double latency_s = constant("cloud-latency-s");

  std::vector<Scenario> scenarios = {
      make_scenario("BLE 1M PHY, DLE (251-byte LL payloads)", "BLE 1M", "ble1m", up_bytes,
                    head_bytes, model_bytes),
      make_scenario("BLE 2M PHY, DLE", "BLE 2M", "ble2m", up_bytes, head_bytes, model_bytes),
      make_scenario("BLE to a phone, no DLE (27-byte LL payloads)", "BLE to a phone, no DLE",
                    "ble_phone", up_bytes, head_bytes, model_bytes),
      make_scenario("IEEE 802.15.4 / Thread, one hop", "Thread", "thread", up_bytes, head_bytes,
                    model_bytes),
      make_scenario("LoRaWAN EU868 SF7 125 kHz", "LoRaWAN SF7", "lora_sf7", up_bytes, head_bytes,
                    model_bytes),
      make_scenario("LoRaWAN EU868 SF12 125 kHz", "LoRaWAN SF12", "lora_sf12", up_bytes, head_bytes,
                    model_bytes),
      make_scenario("NB-IoT (nRF9160, measured per message)", "NB-IoT", "nbiot", up_bytes,
                    head_bytes, model_bytes),
  };
  const auto head_time = [&](const Scenario& s) {
    return s.up.time_s + head_train_s + s.down_head.time_s + latency_s;
  };
  const auto model_time = [&](const Scenario& s) {
    return s.up.time_s + model_train_s + s.down_model.time_s + latency_s;
  };

  // Another core's report leaves the section out (the model is the nRF52840's): it is written,
  // then taken back below, so that the figures the CSV files need are computed once.
  const std::string before_energy = r.str();
  r << "## Time and energy: learning on the device against learning in the cloud\n\n";
  r << "**On the device**, learning costs the CPU's time: instructions (counted) x cycles per "
       "instruction (estimated, above) at "
    << fmt(mhz, 0)
    << " MHz, at the CPU's active current. Two accountings: **learning only** "
       "(the head's "
    << fmt(epochs_run, 0)
    << " epochs: a device that classifies what it senses runs the extractor on those samples "
       "anyway) and **everything** (the extraction of the "
    << fmt(samples, 0) << " samples as well).\n\n";
  r << "| device | time | energy |\n|---|---:|---:|\n";
  r << "| learning only (" << thousands(training_insn) << " instructions x "
    << fmt(cpi_head.value, 3) << ") | " << duration_text(learn_s) << " | " << energy_text(learn_j)
    << " |\n";
  r << "| everything (+ " << thousands(extraction_insn) << " x " << fmt(cpi_extraction.value, 3)
    << ") | " << duration_text(all_s) << " | " << energy_text(all_j) << " |\n\n";
  r << "**In the cloud**, the device sends its " << fmt(samples, 0) << " samples ("
    << thousands(up_bytes) << " bytes) and receives what the cloud learned: **(a)** the new head ("
    << thousands(head_bytes)
    << "-byte parameter blob), or **(b)** as in MicroTL's baseline, a whole new model (the int8 "
       "extractor's "
    << thousands(extractor_bytes)
    << " bytes of parameters in flash + the head: " << thousands(model_bytes)
    << " bytes). The device's energy is its radio's (transmit and receive times at their "
       "currents, ramp-ups, inter-frame spaces, acknowledgements) and its CPU's while it runs "
       "the stack; the time is the transfers' plus the cloud's training, measured on this host: "
    << duration_text(head_train_s) << " for the head (the same session), "
    << duration_text(model_train_s) << " to train the whole model (the factory pretraining, "
    << (factory_name == "keras" ? "in Keras" : "`demo_pretrain`") << ").\n\n";

  r << "![device energy against the cloud's, per link](energy.svg)\n\n";
  r << "Energy on the device, cloud / device (**bold**: the device spends less):\n\n";
  r << "| link | cloud (a): head back | cloud (b): model back | (a) / learning only | (a) / "
       "everything | (b) / learning only | (b) / everything |\n"
       "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : scenarios) {
    r << "| " << s.name << " | " << energy_text(s.head_j()) << " | " << energy_text(s.model_j())
      << " | " << ratio_text(s.head_j(), learn_j) << " | " << ratio_text(s.head_j(), all_j) << " | "
      << ratio_text(s.model_j(), learn_j) << " | " << ratio_text(s.model_j(), all_j) << " |\n";
  }
  r << "| *on the device* | *learning only: " << energy_text(learn_j)
    << "* | *everything: " << energy_text(all_j) << "* | | | | |\n\n";

  r << "Time, cloud / device:\n\n";
  r << "| link | cloud (a): head back | cloud (b): model back | (a) / learning only | (a) / "
       "everything | (b) / learning only | (b) / everything |\n"
       "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : scenarios) {
    r << "| " << s.name << " | " << duration_text(head_time(s)) << " | "
      << duration_text(model_time(s)) << " | " << ratio_text(head_time(s), learn_s) << " | "
      << ratio_text(head_time(s), all_s) << " | " << ratio_text(model_time(s), learn_s) << " | "
      << ratio_text(model_time(s), all_s) << " |\n";
  }
  r << "| *on the device* | *learning only: " << duration_text(learn_s)
    << "* | *everything: " << duration_text(all_s) << "* | | | | |\n\n";

  r << "Where the cloud's energy goes, baseline (a) (upload + head download):\n\n";
  r << "| link | frames up / down | radio TX | radio RX | CPU (stack) | up | down | upload rate |\n"
       "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& s : scenarios) {
    energy::RadioUse both = s.up;
    both += s.down_head;
    const bool measured = both.fixed_j > 0;
    r << "| " << s.name << " | " << thousands(s.up.frames) << " / " << thousands(s.down_head.frames)
      << " | " << (measured ? "measured" : duration_text(both.tx_s)) << " | "
      << (measured ? "per message" : duration_text(both.rx_s)) << " | "
      << (measured || s.cpu_ma == 0 ? "in the radio figure" : duration_text(both.cpu_s)) << " | "
      << duration_text(s.up.time_s) << " | " << duration_text(s.down_head.time_s) << " | "
      << rate_text(up_bytes * 8 / s.up.time_s);
    if (!std::isnan(s.ceiling_kbps))
      r << " (ceiling " << sig3(s.ceiling_kbps) << ")";
    r << " |\n";
  }
  r << "\nBLE: each data packet is answered by an empty PDU; the radio is on for both and a "
       "ramp-up before each, and off for the rest of each T_IFS (fast ramp-up keeps T_IFS in "
       "software; `--radio-rampup-us 140` counts the normal ramp-up instead); the upload rate is "
       "the link's application throughput, at most its ceiling (packet, T_IFS, empty PDU, T_IFS "
       "back to back). Thread: each frame waits a mean CSMA-CA backoff, listens for CCA, turns "
       "around, is sent and acknowledged, then a LIFS; the rate follows from that (a ceiling: the "
       "30-80 kbit/s often quoted for "
       "Thread applications would make the cloud slower still). LoRaWAN: the "
       "1 % duty cycle sets the rate. NB-IoT: the measured connected time per message.\n\n";

  // Who wins where, from the tables above.
  const auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    return out.empty() ? std::string("none") : out;
  };
  std::vector<std::string> device_less;
  std::vector<std::string> cloud_less;
  std::vector<std::string> microtl_holds;
  for (const auto& s : scenarios) {
    (s.head_j() > learn_j ? device_less : cloud_less).push_back(s.label);
    if (s.model_j() >= 3 * all_j && model_time(s) >= 2.8 * all_s)
      microtl_holds.push_back(s.label);
  }
  const Scenario& ble1m = scenarios.front();
  // What a device that runs the extractor anyway could send instead: its int8 features.
  const double feature_bytes = number(memory, "cache_bytes_per_sample") + 1;
  const Scenario ble_features =
      make_scenario("", "", "ble1m", samples * feature_bytes, head_bytes, model_bytes);
  std::string per_byte;
  for (const auto& s : scenarios) {
    per_byte += (per_byte.empty() ? "" : "; ") + s.label + " " +
                sig3(s.joules(s.up) / up_bytes * 1e6) + " µJ";
  }
  const double ble_up_j = ble1m.joules(ble1m.up);
  const auto full_frame_s = [](int sf, double payload) {
    const energy::LoraWan w = lorawan(sf, payload);
    return energy::lora_time_on_air_s(w.uplink, payload + w.overhead_bytes, true);
  };
  const double sf7_frame_s = full_frame_s(7, constant("lora-sf7-payload"));
  const double sf12_frame_s = full_frame_s(12, constant("lora-sf12-payload"));
  r << "How to read it. Learning only, against baseline (a): the device spends less energy than "
       "the cloud over "
    << (cloud_less.empty() ? "every link" : list(device_less))
    << (cloud_less.empty() || device_less.empty() ? "" : "; more over " + list(cloud_less))
    << ". What one uploaded byte costs the device: " << per_byte << " (LoRaWAN: frames of at most "
    << fmt(constant("lora-sf7-payload"), 0) << " application bytes in "
    << duration_text(sf7_frame_s) << " at SF7, " << fmt(constant("lora-sf12-payload"), 0) << " in "
    << duration_text(sf12_frame_s)
    << " at SF12, each followed by two receive windows; NB-IoT: the measured energy of a whole "
       "message). Over BLE LE 1M the "
    << thousands(up_bytes) << " bytes of samples cost " << energy_text(ble_up_j) << ", "
    << (ble_up_j < learn_j ? "less than the " : "more than the ") << energy_text(learn_j)
    << " of the head's learning. LoRaWAN's 1 % duty cycle stretches the transfer to hours (SF7) "
       "or days (SF12). MicroTL (IEEE LCN 2022) reports learning on the device at 3x less energy "
       "and 2.8x less time than its baseline (b); with everything counted, that holds here over "
    << list(microtl_holds)
    << ". One note in the cloud's favour: a device that runs the extractor anyway could send its "
    << fmt(feature_bytes, 0)
    << "-byte int8 features (and label) instead of the images for baseline (a): "
    << thousands(samples * feature_bytes) << " bytes, "
    << energy_text(ble_features.joules(ble_features.up)) << " over BLE LE 1M.\n\n";
  if (!energy_model) {
    r.str(before_energy);
    r.seekp(0, std::ios_base::end);
  }

  // ---- The learning strategies side by side. ---------------------------------------------
  if (args.count("strategies") != 0) {
    const std::string run_strategy = args.count("strategy") != 0 ? args["strategy"] : "head";
    std::vector<StrategyRow> rows;
    for (const auto& f : read_log(args["strategies"], "STRATEGY")) {
      rows.push_back(StrategyRow{});
      rows.back().name = f.count("name") != 0 ? f.at("name") : "?";
      rows.back().device = read_log(f.count("device") != 0 ? f.at("device") : "", "DEMO");
      rows.back().cloud = read_log(f.count("cloud") != 0 ? f.at("cloud") : "", "CLOUD");
      rows.back().line = f;
    }
    r << "## Learning strategies\n\n";
    r << "What the device trains, side by side: each strategy is a firmware of its own "
         "(`MICROTL_DEMO_STRATEGY`, config.hpp; `"
      << demo_command
      << " --strategy NAME` makes it the run "
         "above) learning from the same "
      << fmt(number(config, "samples_per_class"), 0)
      << " samples per class with the same recipe (plain SGD, learning rate "
      << text(config, "learning_rate") << ", batch " << text(config, "batch") << ", at most "
      << fmt(number(config, "epochs"), 0)
      << " epochs with the same early stopping), and a cloud baseline of its own on the host. "
         "The run above is **"
      << run_strategy << "**.\n\n";
    // The energy columns only where the report models the chip (the M4F's nRF52840).
    r << "| strategy | trains (values) | accuracy old / new / all | epochs | training arena "
         "(constexpr) | cache (per sample) | model state | learning RAM | fits 256 KB | static "
         "RAM (ELF) | instructions per session (learning + extraction) | "
      << (energy_model ? "energy: learning only | energy: everything | " : "")
      << "host = device |\n"
         "|---|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|"
      << (energy_model ? "---:|---:|" : "") << "---|\n";
    struct Figures {
      std::string name;
      double all, learn_j, all_j;
      bool fits;
    };
    std::vector<Figures> figures;
    bool any_differ = false;
    const double budget = 192 * 1024;
    for (const auto& row : rows) {
      const Fields* m = find(row.device, {{"memory", ""}, {"inference_arena", ""}});
      const Fields* l = find(row.device, {{"session_instructions", ""}});
      const Fields* a = find(row.device, {{"phase", "after"}, {"old_classes", ""}});
      const Fields* sv = find(row.device, {{"blob_bytes", ""}});
      const Fields* ca = find(row.cloud, {{"phase", "after"}, {"old_classes", ""}});
      const double values = (number(sv, "blob_bytes") - 24) / 4;  // header 20, CRC 4
      const double train_insn = number(l, "training_instructions");
      const double extract_insn = number(l, "extraction_instructions");
      const double s_learn = energy::cpu_seconds(train_insn, cpi_head.value, mhz);
      const double s_all = s_learn + energy::cpu_seconds(extract_insn, cpi_extraction.value, mhz);
      const double ram = number(m, "learning_ram");
      const bool fits = ram <= budget;
      // Host against device: every epoch's loss (as printed), the epochs run, the final
      // accuracies, and the learned parameters byte for byte (the parameter-store images).
      std::size_t epochs_compared = 0;
      bool losses = true;
      for (int e = 1;; ++e) {
        const Fields* d = find(row.device, {{"epoch", std::to_string(e)}, {"loss", ""}});
        const Fields* c = find(row.cloud, {{"epoch", std::to_string(e)}, {"loss", ""}});
        if (d == nullptr && c == nullptr)
          break;
        losses = losses && d != nullptr && c != nullptr && text(d, "loss") == text(c, "loss");
        ++epochs_compared;
      }
      bool accuracy_equal = a != nullptr && ca != nullptr;
      for (const char* key : {"accuracy", "old_classes", "new_classes"})
        accuracy_equal = accuracy_equal && text(a, key) == text(ca, key);
      const double differ = number(&row.line, "store_differ");
      const double stored = number(&row.line, "store_bytes");
      std::string same = std::string("losses of ") + std::to_string(epochs_compared) +
                         " epochs: " + (losses ? "equal" : "**differ**") +
                         "; final accuracy: " + (accuracy_equal ? "equal" : "**differs**") +
                         "; learned parameters: ";
      same += std::isnan(differ) ? "not compared"
              : differ == 0
                  ? "**bit-identical**"
                  : thousands(differ) + " of " + thousands(stored) + " stored bytes differ";
      const bool is_run = row.name == run_strategy;
      r << "| " << (is_run ? "**" + row.name + "**" : row.name) << " | "
        << strategy_trains(row.name) << " (" << thousands(values) << ") | "
        << fmt(number(a, "old_classes")) << " / " << fmt(number(a, "new_classes")) << " / "
        << fmt(number(a, "accuracy")) << " % | " << fmt(number(l, "epochs"), 0) << " | "
        << thousands(number(m, "training_arena")) << " | " << thousands(number(m, "feature_cache"))
        << " (" << thousands(number(m, "cache_bytes_per_sample")) << ", "
        << strategy_cache(row.name) << ") | " << thousands(number(m, "model_state")) << " | "
        << thousands(ram) << " | " << (fits ? "yes" : "**no** (fits_256k=0)") << " | "
        << thousands(number(&row.line, "elf_data") + number(&row.line, "elf_bss")) << " | "
        << thousands(number(l, "session_instructions")) << " (" << thousands(train_insn) << " + "
        << thousands(extract_insn) << ") | ";
      if (energy_model)
        r << energy_text(s_learn * cpu_w) << " | " << energy_text(s_all * cpu_w) << " | ";
      r << same << " |\n";
      // The table's cost: energy on the M4F; instructions on another core (no energy model).
      if (energy_model)
        figures.push_back({row.name, number(a, "accuracy"), s_learn * cpu_w, s_all * cpu_w, fits});
      else
        figures.push_back(
            {row.name, number(a, "accuracy"), train_insn, number(l, "session_instructions"), fits});
      any_differ = any_differ || !(differ == 0);
    }
    r << "\nLearning RAM: model state + training arena + feature cache (+ a staging buffer for "
         "loading stored parameters where the training arena is smaller than them: last), "
         "against the firmware's budget of "
      << thousands(budget)
      << (energy_model ? " bytes on a 256 KB nRF52840"
                       : " bytes (sized for the Cortex-M4F's 256 KB nRF52840; the same firmware "
                         "on every core)")
      << " (the rest is the firmware's: stack, buffers); the "
         "default strategy's firmware asserts it at compile time, a strategy beyond it is built "
         "and run all the same (QEMU's board has 4 MB) and marked fits_256k=0 here, with its "
         "experiment unchanged (same samples). Static RAM (ELF): its data + bss, QEMU's "
         "semihosting buffers included. ";
    if (energy_model) {
      r << "Energy: the model above, the instructions counted on the device under each strategy "
           "x the cycles per instruction estimated for the default's regions ("
        << fmt(cpi_head.value, 3) << " for learning, " << fmt(cpi_extraction.value, 3)
        << " for extraction; the int8 forward and backward passes inside biases' and conv3's "
           "learning are counted at the float head's "
        << fmt(cpi_head.value, 3) << ", not estimated separately). ";
    }
    r << "Extraction is what runs once per sample to fill the "
         "cache: up to the first trained layer (biases trains conv1, so it caches the image and "
         "runs the whole network in every step). Host = device: the cloud baseline of each "
         "strategy replays the device's session; its losses per epoch (4 decimals), its final "
         "accuracy and its learned parameters (the parameter-store image after one save, "
         "against the device's parameter flash) are compared. They are the same bytes "
         "because both builds compute the same floats: every multiply-add the library writes "
         "as one is fused on both (the "
      << core
      << "'s VFMA; on the host glibc's exact fmaf, "
         "MICROTL_FUSED_MULTIPLY_ADD=1), neither compiler contracts a * b + c on its own "
         "(-ffp-contract=off), and the loss's exp and log are the library's "
         "(kernels/float_math.hpp), not the C libraries' (newlib's and glibc's round some "
         "results differently). scripts/demo fails when a pair differs.\n\n";
    if (any_differ) {
      r << "**Some learned parameters differ (the column above): host and device did not "
           "compute the same floats, and scripts/demo fails.**\n\n";
    }
    // The default: the most accurate strategy that fits, unless one that fits comes within a
    // point of it for less energy per session.
    const Figures* best = nullptr;
    for (const auto& f : figures)
      if (f.fits && !std::isnan(f.all) && (best == nullptr || f.all > best->all))
        best = &f;
    const Figures* pick = best;
    for (const auto& f : figures)
      if (best != nullptr && f.fits && f.all >= best->all - 1.0 && f.all_j < pick->all_j)
        pick = &f;
    if (pick != nullptr) {
      r << "**The default strategy, from this table: " << pick->name
        << "** (the rule: of the strategies that fit the budget, the most accurate on all "
           "classes, unless another that fits comes within a point of it for "
        << (energy_model ? "less energy" : "fewer instructions") << " per session). ";
      for (const auto& f : figures) {
        if (&f == pick)
          continue;
        // On another core than the M4F, learn_j and all_j are instructions (no energy model).
        const auto cost = [&](double v) { return energy_model ? energy_text(v) : thousands(v); };
        r << f.name << ": " << fmt(f.all - pick->all) << " points on all classes, "
          << sig3(f.learn_j / pick->learn_j) << "x the learning "
          << (energy_model ? "energy" : "instructions") << " (" << cost(f.learn_j) << " against "
          << cost(pick->learn_j) << "), " << sig3(f.all_j / pick->all_j) << "x everything"
          << (f.fits ? "" : ", and beyond the RAM budget") << ". ";
      }
      r << (pick->name == "head" ? "The demo keeps head, its default."
                                 : "**This is not the demo's default (head): config.hpp's "
                                   "default should follow the table.**")
        << "\n\n";
    }
  }

  // The energy model's constants and assumptions: the M4F's report only (the model's).
  if (energy_model) {
    r << "### Constants\n\nEvery constant is an option of `demo_report` (`--name value`); "
         "docs/energy_constants.md quotes each source.\n\n"
         "| constant | value | source |\n|---|---:|---|\n";
    for (const auto& c : constants) {
      r << "| `--" << c.name << "` | " << c.value << " " << c.unit << " | " << c.source << " |\n";
    }
    r << "\nAssumptions: the device's sleep current is left out of both (marginal energy only); "
         "the "
         "cloud's own energy is not the device's and is not counted; no retransmissions or lost "
         "frames; writing the received parameters to flash costs both baselines about what saving "
         "the learned head costs the device, and is left out; the instructions counted in QEMU "
         "stand for the instructions an nRF52840 would execute (same ISA, same code), and the "
         "cycles per instruction are estimates, not measurements.\n";
  }

  const std::string report = r.str();
  std::fputs(report.c_str(), stdout);
  if (args.count("out") != 0) {
    const std::string out_path = args["out"];
    std::ofstream out(out_path);
    out << report;
    if (!out) {
      std::fprintf(stderr, "report: cannot write %s\n", out_path.c_str());
      return 1;
    }
    // The charts' data, next to the report.
    const auto slash = out_path.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : out_path.substr(0, slash + 1);
    std::ofstream csv(dir + "energy.csv");
    csv << "scenario,label,key,device_learning_mj,device_everything_mj,cloud_head_mj,cloud_model_"
           "mj,"
           "device_learning_s,device_everything_s,cloud_head_s,cloud_model_s\n";
    for (const auto& s : scenarios) {
      csv << '"' << s.name << "\",\"" << s.label << "\"," << s.key << ',' << learn_j * 1e3 << ','
          << all_j * 1e3 << ',' << s.head_j() * 1e3 << ',' << s.model_j() * 1e3 << ',' << learn_s
          << ',' << all_s << ',' << head_time(s) << ',' << model_time(s) << '\n';
    }
    std::ofstream epochs(dir + "epochs.csv");
    epochs << "epoch,loss,accuracy,old_classes,new_classes\n";
    epochs << "0,," << text(cloud_before, "accuracy") << ',' << text(cloud_before, "old_classes")
           << ',' << text(cloud_before, "new_classes") << '\n';
    for (std::size_t e = 0; e < cloud_epochs.size(); ++e) {
      epochs << e + 1 << ',' << text(cloud_epochs[e], "loss") << ','
             << text(cloud_epochs[e], "accuracy") << ',' << text(cloud_epochs[e], "old_classes")
             << ',' << text(cloud_epochs[e], "new_classes") << '\n';
    }
    if (!csv || !epochs) {
      std::fprintf(stderr, "report: cannot write the CSV files next to %s\n", out_path.c_str());
      return 1;
    }
  }
  return 0;
}

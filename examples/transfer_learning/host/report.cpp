// report: turns the demo's logs into the comparison table, with a time and energy model of
// an nRF52840-class device that either learns the new classes itself or sends its samples
// to the cloud over Bluetooth LE and receives the new head back.
//
//   demo_report --device LOG --restore LOG --cloud LOG --pretrain LOG
//               --elf-text N --elf-data N --elf-bss N [--out report.md] [constants...]
//
// Every constant of the model is an option (`demo_report --help` lists them with their
// defaults and sources). The model counts the device's marginal energy: what learning, or
// sending and receiving, adds to what the device spends anyway; sleep is left out of both.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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
    {"cpu-mhz", 64.0, "MHz", "nRF52840 Product Specification (PS): 64 MHz Arm Cortex-M4F"},
    {"cycles-per-instruction", 1.25, "cycles",
     "assumption: QEMU counts instructions, not cycles; Cortex-M4 is single-issue (most ALU ops 1 "
     "cycle, "
     "loads/stores and multiply-accumulates 1-2, taken branches 2-4, flash wait states partly "
     "hidden by the cache)"},
    {"supply-volts", 3.0, "V", "nRF52840 PS: typical conditions, VDD = 3.0 V"},
    {"cpu-ma", 3.3, "mA",
     "nRF52840 PS, CPU running CoreMark from flash, DC/DC, 64 MHz (52 uA/MHz); consistent with the "
     "PS's compounded "
     "figure IS0 (CPU + radio TX 0 dBm, DC/DC) = 8.1 mA = 3.3 + 4.8"},
    {"radio-tx-ma", 4.8, "mA", "nRF52840 PS, radio transmitting at 0 dBm, 1 Mbps BLE, DC/DC"},
    {"radio-rx-ma", 4.6, "mA", "nRF52840 PS, radio receiving at 1 Mbps BLE, DC/DC"},
    {"cpu-during-radio", 0.0, "fraction",
     "assumption: share of radio time the CPU is also busy (BLE stack, copying data); 0 favours "
     "the cloud"},
    {"ble-phy-kbps", 1000.0, "kbit/s", "Bluetooth Core Spec: LE 1M PHY"},
    {"ble-ll-payload", 244.0, "bytes",
     "Bluetooth Core Spec 4.2+: LE Data Length Extension, 251-byte PDU payload less 4 (L2CAP) and "
     "3 (ATT) is the usual 244-byte notification ATT value"},
    {"ble-packet-overhead", 21.0, "bytes",
     "Bluetooth Core Spec: preamble 1 + access address 4 + header 2 + MIC 4 + CRC 3 = 14 on air, "
     "plus L2CAP 4 + ATT 3 headers"},
    {"ble-ack-bytes", 10.0, "bytes",
     "Bluetooth Core Spec: an empty PDU answers each packet (1 + 4 + 2 + 3 bytes on air)"},
    {"radio-rampup-us", 40.0, "us",
     "nRF52840 PS, RADIO: fast ramp-up time, per packet and direction"},
    {"ble-throughput-kbps", 250.0, "kbit/s",
     "assumption: application throughput of a BLE link to a phone or gateway (connection "
     "intervals, packets per event); "
     "sets the transfer time, not the radio energy"},
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

std::string fmt(double v, int decimals = 2) {
  if (std::isnan(v))
    return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
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

// Radio on-air time of sending `bytes` of application data one way: full packets, each
// followed by the peer's empty acknowledgement; ramp-up once per packet and direction.
struct Airtime {
  double tx_s = 0;
  double rx_s = 0;
};
Airtime airtime(double bytes) {
  const double payload = constant("ble-ll-payload");
  const double packets = std::ceil(bytes / payload);
  const double bit_s = 1.0 / (constant("ble-phy-kbps") * 1000.0);
  const double rampup = constant("radio-rampup-us") * 1e-6;
  Airtime a;
  a.tx_s = packets * ((payload + constant("ble-packet-overhead")) * 8 * bit_s + rampup);
  a.rx_s = packets * (constant("ble-ack-bytes") * 8 * bit_s + rampup);
  return a;
}

void usage() {
  std::printf(
      "demo_report --device LOG --restore LOG --cloud LOG --pretrain LOG --elf-text N --elf-data N "
      "--elf-bss N "
      "[--out FILE] [--<constant> VALUE ...]\n\nconstants (default, unit, source):\n");
  for (const auto& c : constants) {
    std::printf("  --%-24s %10g %-9s %s\n", c.name, c.value, c.unit, c.source);
  }
}

}  // namespace

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
  const Fields* config = find(device, {{"config", ""}, {"samples_per_class", ""}});
  const Fields* memory = find(device, {{"memory", ""}, {"inference_arena", ""}});
  const Fields* before = find(device, {{"phase", "before"}, {"old_classes", ""}});
  const Fields* after = find(device, {{"phase", "after"}, {"old_classes", ""}});
  const Fields* restored = find(restore, {{"phase", "restored"}, {"old_classes", ""}});
  const Fields* learning = find(device, {{"session_instructions", ""}});
  const Fields* extraction = find(device, {{"per_sample", ""}});
  const Fields* saved = find(device, {{"blob_bytes", ""}});
  const Fields* cloud_learning = find(cloud, {{"session_ns", ""}});
  const Fields* cloud_after = find(cloud, {{"phase", "after"}, {"old_classes", ""}});
  const Fields* factory = find(pretrain, {{"float_accuracy", ""}});
  if (config == nullptr || after == nullptr || learning == nullptr || cloud_learning == nullptr) {
    std::fprintf(
        stderr,
        "report: the device or cloud log is incomplete (did the firmware run to the end?)\n");
    return 1;
  }

  std::ostringstream r;
  r << "# microtl transfer-learning demo: report\n\n";
  r << "Produced by `scripts/demo`; every figure below comes from that run (device figures: the "
       "firmware in QEMU "
       "mps2-an386, Cortex-M4F, instructions counted with -icount; host figures: this "
       "machine).\n\n";

  r << "## Accuracy on the held-out test set\n\n";
  r << "Factory model (host, " << (factory ? "7" : "?") << " classes): float "
    << fmt(number(factory, "float_accuracy")) << " %, int8 extractor "
    << fmt(number(factory, "int8_accuracy")) << " % ("
    << fmt(number(factory, "int8_accuracy") - number(factory, "float_accuracy")) << " points).\n\n";
  r << "Device, " << fmt(number(config, "test_per_class"), 0) << " test images per class, "
    << fmt(number(config, "samples_per_class"), 0) << " learning samples per class, "
    << fmt(number(config, "epochs"), 0) << " epochs:\n\n";
  r << "| class | | before learning (factory head) | after learning | after a reboot (restored) "
       "|\n|---|---|---:|---:|---:|\n";
  for (int c = 0; c < 10; ++c) {
    const std::string cls = std::to_string(c);
    const Fields* b = find(device, {{"phase", "before"}, {"class", cls}});
    const Fields* a = find(device, {{"phase", "after"}, {"class", cls}});
    const Fields* s = find(restore, {{"phase", "restored"}, {"class", cls}});
    std::string name = b && b->count("name") ? b->at("name") : "";
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
       "test images "
       "are identical on both (reference_mismatches = "
    << fmt(number(after, "reference_mismatches"), 0) << ").\n\n";

  // ---- Work and memory. -----------------------------------------------------------------
  const double samples = number(extraction, "samples");
  const double session_insn = number(learning, "session_instructions");
  r << "## Work on the device (instructions, not cycles)\n\n| what | instructions |\n|---|---:|\n";
  r << "| feature extraction, per sample (int8 extractor) | "
    << thousands(number(extraction, "per_sample")) << " |\n";
  r << "| feature extraction, " << fmt(samples, 0) << " samples | "
    << thousands(number(learning, "extraction_instructions")) << " |\n";
  r << "| one head epoch (" << fmt(samples, 0) << " samples, forward + backward + SGD) | "
    << thousands(number(learning, "training_instructions") / number(config, "epochs")) << " |\n";
  r << "| the whole learning session | " << thousands(session_insn) << " |\n";
  r << "| saving the head (" << fmt(number(saved, "blob_bytes"), 0) << "-byte blob) | "
    << thousands(number(saved, "instructions")) << " |\n\n";

  const double text = std::strtod(args["elf-text"].c_str(), nullptr);
  const double data = std::strtod(args["elf-data"].c_str(), nullptr);
  const double bss = std::strtod(args["elf-bss"].c_str(), nullptr);
  r << "## Memory\n\n| | bytes | nRF52840 |\n|---|---:|---:|\n";
  r << "| flash (ELF text + data) | " << thousands(text + data) << " | 1,048,576 |\n";
  r << "| static RAM (ELF data + bss) | " << thousands(data + bss) << " | 262,144 |\n";
  r << "| of which: inference arena (constexpr) | " << thousands(number(memory, "inference_arena"))
    << " | |\n";
  r << "| of which: training arena (constexpr: gradients, momentum, saved activations) | "
    << thousands(number(memory, "training_arena")) << " | |\n";
  r << "| of which: feature cache (" << fmt(number(memory, "cache_bytes_per_sample"), 0)
    << " bytes per sample, int8) | " << thousands(number(memory, "feature_cache")) << " | |\n";
  r << "| of which: model state (head parameters in RAM) | "
    << thousands(number(memory, "model_state")) << " | |\n";
  r << "| parameter storage (two slots) | " << thousands(number(memory, "parameter_storage"))
    << " | (flash) |\n\n";
  r << "The ELF's RAM figure includes newlib's semihosting buffers of the QEMU board; the stack is "
       "not in it.\n\n";

  // ---- Time and energy. -------------------------------------------------------------------
  const double volts = constant("supply-volts");
  const double cpu_s =
      session_insn * constant("cycles-per-instruction") / (constant("cpu-mhz") * 1e6);
  const double device_j = cpu_s * constant("cpu-ma") * 1e-3 * volts;
  // A device that classifies what it senses runs the extractor on those samples anyway; then
  // what learning adds is the head's training alone.
  const double training_s = number(learning, "training_instructions") *
                            constant("cycles-per-instruction") / (constant("cpu-mhz") * 1e6);
  const double training_j = training_s * constant("cpu-ma") * 1e-3 * volts;

  const double up_bytes = samples * constant("upload-bytes-per-sample");
  const double down_bytes = number(saved, "blob_bytes");
  const Airtime up = airtime(up_bytes);
  const Airtime down = airtime(down_bytes);
  const double tx_s =
      up.tx_s + down.rx_s;  // the device transmits the samples and acknowledges the head
  const double rx_s = up.rx_s + down.tx_s;
  const double radio_j =
      (tx_s * constant("radio-tx-ma") + rx_s * constant("radio-rx-ma")) * 1e-3 * volts +
      (tx_s + rx_s) * constant("cpu-during-radio") * constant("cpu-ma") * 1e-3 * volts;
  const double link_bits = constant("ble-throughput-kbps") * 1000.0;
  const double transfer_s = (up_bytes + down_bytes) * 8 / link_bits;
  const double cloud_train_s =
      number(cloud_learning, "session_ns") * 1e-9 / constant("cloud-speedup");
  const double cloud_s = transfer_s + cloud_train_s + constant("cloud-latency-s");

  r << "## Time and energy: learning on the device against learning in the cloud\n\n";
  r << "(a) **on the device**: the learning session's instructions x cycles per instruction at the "
       "core clock, at the "
       "CPU's active current. (b) **cloud**: the device sends every learning sample over BLE and "
       "receives the new head "
       "(the saved blob) back; radio energy from the on-air time of full packets and their "
       "acknowledgements; time from "
       "the link's application throughput plus the cloud's training time (measured: the same "
       "session on this host).\n\n";
  r << "| | on the device | cloud | cloud / device |\n|---|---:|---:|---:|\n";
  r << "| time | " << fmt(cpu_s, 2) << " s | " << fmt(cloud_s, 2) << " s (transfer "
    << fmt(transfer_s, 2) << " s + training " << fmt(cloud_train_s, 3) << " s) | "
    << fmt(cloud_s / cpu_s, 2) << "x |\n";
  r << "| device energy | " << fmt(device_j * 1e3, 1) << " mJ | " << fmt(radio_j * 1e3, 1)
    << " mJ (radio: TX " << fmt(tx_s * 1e3, 0) << " ms, RX " << fmt(rx_s * 1e3, 0) << " ms) | "
    << fmt(radio_j / device_j, 2) << "x |\n";
  r << "| data over the air | 0 | " << thousands(up_bytes) << " B up, " << thousands(down_bytes)
    << " B down | |\n";
  r << "| time, if the extractor ran anyway (for inference) | " << fmt(training_s, 2) << " s | "
    << fmt(cloud_s, 2) << " s | " << fmt(cloud_s / training_s, 2) << "x |\n";
  r << "| device energy, if the extractor ran anyway | " << fmt(training_j * 1e3, 1) << " mJ | "
    << fmt(radio_j * 1e3, 1) << " mJ | " << fmt(radio_j / training_j, 2) << "x |\n\n";
  r << "MicroTL (IEEE LCN 2022) reports learning on the device at 3x less energy and 2.8x less "
       "time than the cloud. "
       "With the constants below this run gives the device "
    << (device_j < radio_j ? fmt(radio_j / device_j, 2) + "x less energy"
                           : fmt(device_j / radio_j, 2) + "x more energy")
    << " and "
    << (cpu_s < cloud_s ? fmt(cloud_s / cpu_s, 2) + "x less time"
                        : fmt(cpu_s / cloud_s, 2) + "x more time")
    << ". The result turns on the cost of computing on the device (instructions of the int8 "
       "extractor and the head) "
       "against the radio's cost per byte and the link's throughput; change any constant on the "
       "command line "
       "(`demo_report --help`).\n\n";

  r << "### Constants\n\n| constant | value | source |\n|---|---:|---|\n";
  for (const auto& c : constants) {
    r << "| `--" << c.name << "` | " << c.value << " " << c.unit << " | " << c.source << " |\n";
  }
  r << "\nAssumptions: the device's sleep current is left out of both (marginal energy only); the "
       "cloud's own energy "
       "is not the device's and is not counted; BLE transfers use full 244-byte packets with no "
       "retransmissions; "
       "the instructions counted in QEMU stand for the instructions an nRF52840 would execute "
       "(same ISA, same code).\n";

  const std::string report = r.str();
  std::fputs(report.c_str(), stdout);
  if (args.count("out") != 0) {
    std::ofstream out(args["out"]);
    out << report;
    if (!out) {
      std::fprintf(stderr, "report: cannot write %s\n", args["out"].c_str());
      return 1;
    }
  }
  return 0;
}

//===- GemvBench.cu - The GPU target's GEMV kernels beside cuBLAS ---------===//
//
// pmpd-gemv-bench times the decode projections of the gpu target (the
// pmpd_qgemv_b<B> kernels of the fatbin that artifacts embed, and
// pmpd_linear_f16 with one token) beside cuBLAS's fp16 GEMV, in one process,
// on the same shapes:
// - every kernel is first checked against a float64 reference computed on the
//   host from the same planes, tables and x (output poisoned with NaN first);
// - weights are rotated over enough copies to exceed the L2 several times,
//   launches are captured in a CUDA graph and its replays timed with events;
//   the median replay over the launches it holds is the time of one GEMV;
// - the device's copy bandwidth (bytes read + written by a large device to
//   device copy) is measured in the same run, as the roofline.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Target/GPU/KernelABI.h"

#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace pmpd::gpu;

namespace {

[[noreturn]] void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("pmpd-gemv-bench: error: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::exit(1);
}

void check(cudaError_t status, const char *what) {
  if (status != cudaSuccess)
    fail("%s: %s", what, cudaGetErrorString(status));
}
void check(cublasStatus_t status, const char *what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    fail("%s: cuBLAS status %d", what, int(status));
}

struct Options {
  std::string kernels;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  int parentBits = 4;
  int launches = 64;  // GEMVs per graph
  int replays = 30;   // timed graph replays
  double minBytes = 4.0 * 50e6; // rotation set: at least 4x the H200's L2
  bool json = false;
  bool checkOnly = false;
};

void usage() {
  std::puts(
      "usage: pmpd-gemv-bench [options]\n"
      "\n"
      "Times the gpu target's decode GEMV kernels (pmpd_qgemv_b<B> for B in\n"
      "2..parent bits, pmpd_linear_f16) beside cuBLAS fp16 GEMV in one process,\n"
      "after checking each against a float64 host reference.\n"
      "\n"
      "options:\n"
      "  --kernels FILE     the kernels fatbin (default: the build's, beside\n"
      "                     this tool in ../lib/pmpd-gpu-kernels.fatbin)\n"
      "  --shape ROWSxCOLS  a weight shape (repeatable; default 4096x4096,\n"
      "                     11008x4096, 4096x11008)\n"
      "  --parent-bits N    bits of the packed planes, 2..8 (default 4)\n"
      "  --launches N       GEMVs per timed graph (default 64)\n"
      "  --replays N        timed graph replays; the median counts (default 30)\n"
      "  --check-only       check correctness, time nothing\n"
      "  --json             one JSON object per line instead of the table\n"
      "  --help             this text");
}

int64_t parseInt(const char *text, const char *what, int64_t lo, int64_t hi) {
  char *end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (!*text || *end || value < lo || value > hi)
    fail("%s must be an integer in [%lld, %lld], got '%s'", what,
         (long long)lo, (long long)hi, text);
  return value;
}

Options parseOptions(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc)
        fail("%s needs a value", arg.c_str());
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      usage();
      std::exit(0);
    } else if (arg == "--kernels") {
      options.kernels = value();
    } else if (arg == "--shape") {
      std::string shape = value();
      size_t x = shape.find('x');
      if (x == std::string::npos)
        fail("--shape must be ROWSxCOLS, got '%s'", shape.c_str());
      options.shapes.emplace_back(
          parseInt(shape.substr(0, x).c_str(), "--shape rows", 1, 1 << 20),
          parseInt(shape.substr(x + 1).c_str(), "--shape cols", 1, 1 << 20));
    } else if (arg == "--parent-bits") {
      options.parentBits =
          int(parseInt(value(), "--parent-bits", kMinKernelBits, kMaxKernelBits));
    } else if (arg == "--launches") {
      options.launches = int(parseInt(value(), "--launches", 1, 4096));
    } else if (arg == "--replays") {
      options.replays = int(parseInt(value(), "--replays", 1, 10000));
    } else if (arg == "--check-only") {
      options.checkOnly = true;
    } else if (arg == "--json") {
      options.json = true;
    } else {
      fail("unknown option '%s' (see --help)", arg.c_str());
    }
  }
  if (options.shapes.empty())
    options.shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}};
  if (options.kernels.empty()) {
    std::string self = argv[0];
    size_t slash = self.rfind('/');
    std::string dir = slash == std::string::npos ? "." : self.substr(0, slash);
    options.kernels = dir + "/../lib/pmpd-gpu-kernels.fatbin";
  }
  return options;
}

std::vector<char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("cannot read the kernels fatbin '%s' (give it with --kernels)",
         path.c_str());
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

/// Device buffer freed at scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t bytes) : bytes(bytes) {
    check(cudaMalloc(&ptr, bytes), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  template <typename T> T *as() const { return static_cast<T *>(ptr); }
  /// `copies` back-to-back copies of `bytes` bytes of `host`.
  void uploadCopies(const void *host, size_t bytes, int copies) const {
    for (int c = 0; c < copies; ++c)
      check(cudaMemcpy(static_cast<uint8_t *>(ptr) + c * bytes, host, bytes,
                       cudaMemcpyHostToDevice),
            "upload weights");
  }
  template <typename T> void upload(const std::vector<T> &host) const {
    check(cudaMemcpy(ptr, host.data(), host.size() * sizeof(T),
                     cudaMemcpyHostToDevice),
          "upload");
  }
};

/// One projection's data on the host: planes of `parentBits` bits, a table
/// per bit width, x.
struct HostProblem {
  int64_t rows, cols, rowBytes;
  int parentBits;
  std::vector<uint8_t> planes;              // [parentBits][rows][rowBytes]
  std::vector<std::vector<uint16_t>> luts;  // [bits][rows][2^bits]
  std::vector<uint16_t> weightsF16;         // [rows][cols]
  std::vector<float> x;

  HostProblem(int64_t rows, int64_t cols, int parentBits, uint32_t seed)
      : rows(rows), cols(cols), rowBytes((cols + 7) / 8),
        parentBits(parentBits) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    planes.resize(size_t(parentBits) * rows * rowBytes);
    for (uint8_t &b : planes)
      b = uint8_t(byte(rng));
    // Bits past the last column are padding: keep them zero, as the packer
    // does, so that nothing depends on them.
    if (cols % 8)
      for (int64_t p = 0; p < parentBits * rows; ++p)
        planes[p * rowBytes + rowBytes - 1] &= uint8_t((1u << (cols % 8)) - 1);
    luts.resize(parentBits + 1);
    for (int bits = kMinKernelBits; bits <= parentBits; ++bits) {
      luts[bits].resize(size_t(rows) << bits);
      for (uint16_t &v : luts[bits])
        v = __half_as_ushort(__float2half(0.02f * normal(rng)));
    }
    weightsF16.resize(size_t(rows) * cols);
    for (uint16_t &v : weightsF16)
      v = __half_as_ushort(__float2half(0.02f * normal(rng)));
    x.resize(cols);
    for (float &v : x)
      v = normal(rng);
  }

  /// The B-bit code of (row, col): the first B planes, plane 0 the most
  /// significant bit, column c at bit c % 8 of byte c / 8.
  unsigned code(int bits, int64_t row, int64_t col) const {
    unsigned c = 0;
    for (int j = 0; j < bits; ++j)
      c = (c << 1) | ((planes[(size_t(j) * rows + row) * rowBytes + col / 8] >>
                       (col % 8)) & 1u);
    return c;
  }

  std::vector<double> referenceQ(int bits) const {
    std::vector<double> y(rows);
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t *table = luts[bits].data() + (size_t(r) << bits);
      double acc = 0;
      for (int64_t c = 0; c < cols; ++c)
        acc += double(x[c]) *
               double(__half2float(__ushort_as_half(table[code(bits, r, c)])));
      y[r] = acc;
    }
    return y;
  }

  std::vector<double> referenceF16() const {
    std::vector<double> y(rows);
    for (int64_t r = 0; r < rows; ++r) {
      double acc = 0;
      for (int64_t c = 0; c < cols; ++c)
        acc += double(x[c]) *
               double(__half2float(__ushort_as_half(weightsF16[r * cols + c])));
      y[r] = acc;
    }
    return y;
  }
};

/// ||y - ref|| / ||ref||; infinity when any element is not finite.
double relativeError(const std::vector<float> &y,
                     const std::vector<double> &ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i]))
      return INFINITY;
    num += (y[i] - ref[i]) * (y[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

/// Times `launch(copy)` for `launches` rotating copies inside a CUDA graph;
/// returns the median microseconds of one launch.
template <typename Launch>
double timeGraph(cudaStream_t stream, int copies, const Options &options,
                 Launch launch) {
  cudaGraph_t graph;
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
        "cudaStreamBeginCapture");
  for (int i = 0; i < options.launches; ++i)
    launch(i % copies);
  check(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
  cudaGraphExec_t exec;
  check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int warm = 0; warm < 3; ++warm)
    check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
  std::vector<float> ms;
  for (int r = 0; r < options.replays; ++r) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    check(cudaGraphLaunch(exec, stream), "cudaGraphLaunch");
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float t;
    check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
    ms.push_back(t);
  }
  check(cudaGetLastError(), "a timed launch");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return 1e3 * ms[ms.size() / 2] / options.launches;
}

__global__ void copyKernel(const float4 *__restrict__ from,
                           float4 *__restrict__ to, size_t count) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count;
       i += size_t(gridDim.x) * blockDim.x)
    to[i] = from[i];
}

/// Copy bandwidth in bytes/s, counting bytes read plus bytes written: a
/// grid-stride float4 copy of 1 GiB (cudaMemcpyAsync inside a graph runs
/// far below it).
double copyBandwidth(cudaStream_t stream, const Options &options,
                     int processors) {
  const size_t bytes = size_t(1) << 30;
  DeviceBuffer a(bytes), b(bytes);
  check(cudaMemset(a.ptr, 1, bytes), "cudaMemset");
  Options copyOptions = options;
  copyOptions.launches = 4;
  double us = timeGraph(stream, 1, copyOptions, [&](int) {
    copyKernel<<<processors * 8, 512, 0, stream>>>(a.as<float4>(),
                                                    b.as<float4>(), bytes / 16);
  });
  return 2.0 * double(bytes) / (us * 1e-6);
}

struct Row {
  std::string kernel;
  int64_t rows, cols;
  double bytes, us, relError;
  double cublasUs;
};

void printRow(const Row &row, double bandwidth, const Options &options) {
  double gbs = row.bytes / (row.us * 1e-6) / 1e9;
  double roofline = 100.0 * row.bytes / (row.us * 1e-6) / bandwidth;
  double speedup = row.cublasUs / row.us;
  if (options.json) {
    std::printf("{\"kernel\": \"%s\", \"rows\": %lld, \"cols\": %lld, "
                "\"weight_bytes\": %.0f, \"us\": %.3f, \"gb_per_s\": %.1f, "
                "\"percent_of_copy_bandwidth\": %.1f, \"cublas_f16_us\": %.3f, "
                "\"speedup_over_cublas_f16\": %.3f, \"relative_error\": %.3g}\n",
                row.kernel.c_str(), (long long)row.rows, (long long)row.cols,
                row.bytes, row.us, gbs, roofline, row.cublasUs, speedup,
                row.relError);
  } else {
    std::printf("%-18s %6lldx%-6lld %9.2f %8.3f %8.0f %6.1f%% %7.2fx %9.2g\n",
                row.kernel.c_str(), (long long)row.rows, (long long)row.cols,
                row.bytes / 1e6, row.us, gbs, roofline, speedup, row.relError);
  }
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  std::vector<char> fatbin = readFile(options.kernels);

  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "CUDA context");
  cudaDeviceProp props;
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  cudaLibrary_t library;
  check(cudaLibraryLoadData(&library, fatbin.data(), nullptr, nullptr, 0,
                            nullptr, nullptr, 0),
        "loading the kernels fatbin");
  cudaStream_t stream;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
        "cudaStreamCreate");
  cublasHandle_t cublas;
  check(cublasCreate(&cublas), "cublasCreate");
  check(cublasSetStream(cublas, stream), "cublasSetStream");
  // A fixed workspace so that cuBLAS can be captured in a graph.
  DeviceBuffer workspace(32 << 20);
  check(cublasSetWorkspace(cublas, workspace.ptr, workspace.bytes),
        "cublasSetWorkspace");

  double bandwidth = options.checkOnly
                         ? 0
                         : copyBandwidth(stream, options,
                                         props.multiProcessorCount);
  if (!options.json) {
    std::printf("device: %s, %d SMs, L2 %.0f MB\n", props.name,
                props.multiProcessorCount, props.l2CacheSize / 1e6);
    if (!options.checkOnly)
      std::printf("copy bandwidth (read + write): %.0f GB/s\n",
                  bandwidth / 1e9);
    std::printf("%-18s %13s %9s %8s %8s %7s %8s %9s\n", "kernel", "shape",
                "MB", "us", "GB/s", "copy%", "vs cuBLAS", "rel.err");
  } else if (!options.checkOnly) {
    std::printf("{\"device\": \"%s\", \"copy_bandwidth_gb_per_s\": %.1f}\n",
                props.name, bandwidth / 1e9);
  }

  bool allCorrect = true;
  uint32_t seed = 1;
  for (auto shape : options.shapes) {
    const int64_t rows = shape.first, cols = shape.second;
    HostProblem host(rows, cols, options.parentBits, seed++);
    const int64_t rowBytes = host.rowBytes;
    const size_t planeBytes = host.planes.size();
    const size_t f16Bytes = host.weightsF16.size() * sizeof(uint16_t);
    // Rotation sets past the L2 for the smallest read of each kind.
    auto copiesFor = [&](double bytesRead) {
      if (options.checkOnly)
        return 1;
      return int(std::min<double>(64, std::ceil(options.minBytes / bytesRead)));
    };
    const int planeCopies =
        copiesFor(double(kMinKernelBits) * rows * rowBytes);
    const int f16Copies = copiesFor(double(f16Bytes));

    DeviceBuffer planes(planeBytes * planeCopies);
    planes.uploadCopies(host.planes.data(), planeBytes, planeCopies);
    DeviceBuffer f16(f16Bytes * f16Copies);
    f16.uploadCopies(host.weightsF16.data(), f16Bytes, f16Copies);
    DeviceBuffer x(cols * sizeof(float));
    x.upload(host.x);
    std::vector<__half> xHalfHost(cols);
    for (int64_t c = 0; c < cols; ++c)
      xHalfHost[c] = __float2half(host.x[c]);
    DeviceBuffer xHalf(cols * sizeof(__half));
    xHalf.upload(xHalfHost);
    DeviceBuffer y(rows * sizeof(float));
    DeviceBuffer yHalf(rows * sizeof(__half));

    auto poisonAndDownload = [&](auto run) {
      check(cudaMemset(y.ptr, 0xff, y.bytes), "poison y"); // NaN
      run();
      check(cudaStreamSynchronize(stream), "a checked launch");
      std::vector<float> out(rows);
      check(cudaMemcpy(out.data(), y.ptr, y.bytes, cudaMemcpyDeviceToHost),
            "download y");
      return out;
    };

    // cuBLAS fp16: y = W x, W [rows][cols] row-major = column-major
    // [cols][rows], so op(A) = A^T with lda = cols.
    const float one = 1.0f, zero = 0.0f;
    auto cublasGemv = [&](int copy) {
      check(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), 1,
                         int(cols), &one,
                         f16.as<uint8_t>() + copy * f16Bytes, CUDA_R_16F,
                         int(cols), xHalf.ptr, CUDA_R_16F, int(cols), &zero,
                         yHalf.ptr, CUDA_R_16F, int(rows), CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            "cublasGemmEx");
    };
    double cublasUs = 0;
    {
      cublasGemv(0);
      check(cudaStreamSynchronize(stream), "cuBLAS");
      std::vector<__half> outHalf(rows);
      check(cudaMemcpy(outHalf.data(), yHalf.ptr, yHalf.bytes,
                       cudaMemcpyDeviceToHost),
            "download cuBLAS y");
      std::vector<float> out(rows);
      for (int64_t r = 0; r < rows; ++r)
        out[r] = __half2float(outHalf[r]);
      // cuBLAS rounds x and y to fp16: its error is fp16's, not ours.
      double err = relativeError(out, host.referenceF16());
      if (!options.checkOnly)
        cublasUs = timeGraph(stream, f16Copies, options, cublasGemv);
      printRow({"cublas_f16", rows, cols, double(f16Bytes), cublasUs, err,
                cublasUs},
               bandwidth, options);
    }

    auto launchKernel = [&](const char *name, LaunchGeometry g,
                            void **params) {
      cudaKernel_t kernel;
      check(cudaLibraryGetKernel(&kernel, library, name), name);
      return [=](int) {
        check(cudaLaunchKernel(reinterpret_cast<const void *>(kernel),
                               dim3(unsigned(g.gridX), unsigned(g.gridY),
                                    unsigned(g.gridZ)),
                               dim3(unsigned(g.blockX)), params, 0, stream),
              name);
      };
    };

    // Ours, fp16.
    {
      const float *xp = x.as<float>();
      int64_t tokens = 1, c = cols, r = rows;
      const void *bias = nullptr;
      float *yp = y.as<float>();
      const uint16_t *wp = f16.as<uint16_t>();
      void *params[] = {&xp, &tokens, &c, &wp, &r, &bias, &yp};
      auto launch =
          launchKernel(kLinearF16Kernel, linearF16Launch(rows, 1), params);
      auto run = [&](int copy) {
        wp = f16.as<uint16_t>() + copy * (f16Bytes / 2);
        launch(copy);
      };
      std::vector<float> out = poisonAndDownload([&] { run(0); });
      double err = relativeError(out, host.referenceF16());
      allCorrect &= err < 1e-5;
      double us = options.checkOnly ? 0 : timeGraph(stream, f16Copies, options, run);
      printRow({"pmpd_linear_f16", rows, cols, double(f16Bytes), us, err,
                cublasUs},
               bandwidth, options);
    }

    // Ours, B bits of the packed planes.
    for (int bits = kMinKernelBits; bits <= options.parentBits; ++bits) {
      DeviceBuffer lut(host.luts[bits].size() * sizeof(uint16_t));
      lut.upload(host.luts[bits]);
      const float *xp = x.as<float>();
      int64_t c = cols, r = rows;
      const uint8_t *pp = planes.as<uint8_t>();
      int32_t parent = options.parentBits;
      const uint16_t *lp = lut.as<uint16_t>();
      const float *bias = nullptr;
      float *yp = y.as<float>();
      void *params[] = {&xp, &c, &pp, &r, &parent, &lp, &bias, &yp};
      const char *name = qgemvKernelName(bits);
      auto launch = launchKernel(name, qgemvLaunch(rows), params);
      auto run = [&](int copy) {
        pp = planes.as<uint8_t>() + copy * planeBytes;
        launch(copy);
      };
      std::vector<float> out = poisonAndDownload([&] { run(0); });
      double err = relativeError(out, host.referenceQ(bits));
      allCorrect &= err < 1e-5;
      double us =
          options.checkOnly ? 0 : timeGraph(stream, planeCopies, options, run);
      printRow({name, rows, cols, double(bits) * rows * rowBytes +
                                      double(host.luts[bits].size()) * 2,
                us, err, cublasUs},
               bandwidth, options);
    }
  }
  cublasDestroy(cublas);
  cudaLibraryUnload(library);
  if (!allCorrect) {
    std::fputs("pmpd-gemv-bench: error: a kernel disagrees with the float64 "
               "reference by 1e-5 or more (rel.err column)\n",
               stderr);
    return 1;
  }
  return 0;
}

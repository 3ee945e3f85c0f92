#!/usr/bin/env node
// Time an ONNX model with ONNX Runtime (the onnxruntime-node package, CPU
// execution provider) and print the result as one line of JSON.
//
// usage: node ort_time.js MODEL THREADS REPEAT NAME=FILE.npy... [OPTIONS]
//
// options:
//   --warmup N        untimed runs before the timed ones (default 1, the same
//                     as `onnxc run --repeat`)
//   --output-dir DIR  write each output of the last run to DIR/NAME.npy
//
// The session uses graph optimization level "all", THREADS intra-op threads
// (the total count, per ONNX Runtime's threading guide), one inter-op thread
// and sequential execution. Spinning is left at ONNX Runtime's default. Each timed run is one awaited session.run(), so the
// latency includes the Node binding's overhead but not building the input
// tensors. max_rss_kb is process.resourceUsage().maxRSS (KiB) at exit, which
// includes the Node runtime itself; rss_before_session_kb is the RSS after
// loading the binding and before creating the session.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const USAGE = 'usage: node ort_time.js MODEL THREADS REPEAT NAME=FILE.npy... ' +
    '[--warmup N] [--output-dir DIR]';

// .npy descr (little-endian or byte-order-free) -> ONNX Runtime tensor type.
const NPY_TYPES = {
  '<f4': {type: 'float32', array: Float32Array},
  '<f8': {type: 'float64', array: Float64Array},
  '<i8': {type: 'int64', array: BigInt64Array},
  '<i4': {type: 'int32', array: Int32Array},
  '|i1': {type: 'int8', array: Int8Array},
  '|u1': {type: 'uint8', array: Uint8Array},
  '|b1': {type: 'bool', array: Uint8Array},
};

function fail(message) {
  process.stderr.write(`ort_time.js: error: ${message}\n`);
  process.exit(2);
}

// Parse a .npy file (format versions 1 to 3, C order) into its descr, shape
// and a typed array holding a copy of the data.
function readNpy(file) {
  const bytes = fs.readFileSync(file);

  const magic = '\x93NUMPY';
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== magic) {
    fail(`${file}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  let headerLength;
  let headerStart;
  if (major === 1) {
    headerLength = bytes.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    headerLength = bytes.readUInt32LE(8);
    headerStart = 12;
  } else {
    fail(`${file}: unsupported .npy format version ${major}`);
  }

  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) {
    fail(`${file}: invalid .npy header: ${header.trim()}`);
  }
  if (fortran[1] === 'True') {
    fail(`${file}: Fortran-order arrays are not supported; save it in C order`);
  }
  const kind = NPY_TYPES[descr[1]];
  if (!kind) {
    fail(`${file}: unsupported dtype '${descr[1]}' (supported: ` +
         `${Object.keys(NPY_TYPES).join(', ')})`);
  }

  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '')
      .map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const byteLength = count * kind.array.BYTES_PER_ELEMENT;
  if (bytes.length - dataStart < byteLength) {
    fail(`${file}: data is truncated: expected ${byteLength} bytes after the ` +
         `header, found ${bytes.length - dataStart}`);
  }
  // Copy into a fresh ArrayBuffer because the data offset need not be aligned
  // to the element size.
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataStart, dataStart + byteLength));
  return {descr: descr[1], type: kind.type, dims, data: new kind.array(copy.buffer)};
}

// Write a tensor as a version 1.0 .npy file.
function writeNpy(file, tensor) {
  const entry = Object.entries(NPY_TYPES).find(([, k]) => k.type === tensor.type);
  if (!entry) {
    fail(`cannot write output of type ${tensor.type} to ${file}`);
  }
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` :
      `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The magic, version, length field, header and newline fill a multiple of
  // 64 bytes, as the format specifies.
  const padding = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(padding % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset,
      tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

function parseWholeNumber(name, text, min) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    fail(`${name} '${text}': expected a whole number >= ${min}\n${USAGE}`);
  }
  return value;
}

function parseArgs(argv) {
  const positional = [];
  const options = {warmup: 1, outputDir: null};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--warmup' || argv[i] === '--output-dir') {
      if (i + 1 >= argv.length) {
        fail(`${argv[i]} requires a value\n${USAGE}`);
      }
      if (argv[i] === '--warmup') {
        options.warmup = parseWholeNumber('--warmup', argv[++i], 0);
      } else {
        options.outputDir = argv[++i];
      }
    } else if (argv[i] === '-h' || argv[i] === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      positional.push(argv[i]);
    }
  }
  if (positional.length < 4) {
    fail(`expected MODEL, THREADS, REPEAT and at least one input\n${USAGE}`);
  }
  const inputs = positional.slice(3).map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      fail(`input '${arg}': expected NAME=FILE.npy\n${USAGE}`);
    }
    return {name: arg.slice(0, eq), file: arg.slice(eq + 1)};
  });
  return {
    model: positional[0],
    threads: parseWholeNumber('THREADS', positional[1], 1),
    repeat: parseWholeNumber('REPEAT', positional[2], 1),
    inputs,
    ...options,
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const rssBeforeSession = process.memoryUsage().rss;

  const createStart = performance.now();
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const createMs = performance.now() - createStart;

  const feeds = {};
  for (const input of args.inputs) {
    if (!session.inputNames.includes(input.name)) {
      fail(`the model has no input named '${input.name}' (inputs: ` +
           `${session.inputNames.join(', ')})`);
    }
    const array = readNpy(input.file);
    feeds[input.name] = new ort.Tensor(array.type, array.data, array.dims);
  }
  const missing = session.inputNames.filter((name) => !(name in feeds));
  if (missing.length > 0) {
    fail(`missing inputs: ${missing.join(', ')}`);
  }

  let results = null;
  for (let i = 0; i < args.warmup; i++) {
    results = await session.run(feeds);
  }
  const latencies = [];
  for (let i = 0; i < args.repeat; i++) {
    const start = performance.now();
    results = await session.run(feeds);
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);

  if (args.outputDir) {
    fs.mkdirSync(args.outputDir, {recursive: true});
    for (const name of session.outputNames) {
      const safeName = name.replace(/[^A-Za-z0-9._-]/g, '_');
      writeNpy(path.join(args.outputDir, `${safeName}.npy`), results[name]);
    }
  }
  await session.release();

  process.stdout.write(JSON.stringify({
    ort_version: ort.env.versions.node,
    threads: args.threads,
    repeat: args.repeat,
    warmup: args.warmup,
    // Upper median for an even count, the same element `onnxc run` prints.
    median_ms: latencies[Math.floor(latencies.length / 2)],
    min_ms: latencies[0],
    session_create_ms: createMs,
    rss_before_session_kb: Math.round(rssBeforeSession / 1024),
    max_rss_kb: process.resourceUsage().maxRSS,
  }) + '\n');
}

main().catch((error) => fail(error && error.stack ? error.stack : String(error)));

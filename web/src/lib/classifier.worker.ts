// nsfwjs (MobileNetV2, the smallest of its models) in a worker: the model is
// part of our bundle (dynamic imports of the nsfwjs model files, served from
// /assets on our origin). TensorFlow.js runs on its WebAssembly backend (SIMD
// where the browser has it), whose .wasm files are our own hashed assets too:
// the plain-JS CPU backend took ~26 s to load and >12 s per frame on the test
// machine, and WebGL is missing or software-emulated in many workers. The page's
// CSP allows this with script-src 'wasm-unsafe-eval' (WebAssembly compilation
// only, no eval of JS). One frame at a time (the page never sends the next
// before the answer). A `warm` request loads the model (nsfwjs runs one
// prediction on zeros as it loads, so the WebAssembly kernels are compiled
// too) before any frame exists: the page sends it while the user waits for a
// partner (classifierWarmup.ts), and the files come from the HTTP cache on a
// later visit (they are content-hashed, served immutable by randomchat.static).

import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { load, type NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { Prediction } from './classifier';

export type ClassifyRequest = { id: number; frame: ImageBitmap } | { id: number; warm: true };
export type ClassifyReply =
  | { id: number; predictions: Prediction[]; ms: number; backend: string }
  | { id: number; ready: true; ms: number; backend: string }
  | { id: number; error: string };

let model: Promise<NSFWJS> | null = null;

async function loadModel(): Promise<NSFWJS> {
  // (the threaded build is used only on a cross-origin isolated page, which ours is not)
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('no wasm');
  } catch {
    await tf.setBackend('cpu'); // slow, but a verdict late is better than none
  }
  await tf.ready();
  return load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] });
}

function pixels(frame: ImageBitmap): ImageData {
  const canvas = new OffscreenCanvas(frame.width, frame.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context in the worker');
  ctx.drawImage(frame, 0, 0);
  return ctx.getImageData(0, 0, frame.width, frame.height);
}

async function warm(id: number): Promise<ClassifyReply> {
  const started = performance.now();
  try {
    model ??= loadModel();
    await model;
    return { id, ready: true, ms: performance.now() - started, backend: tf.getBackend() };
  } catch (err) {
    model = null; // the next request tries again
    return { id, error: String((err as Error)?.message ?? err) };
  }
}

self.onmessage = async (e: MessageEvent<ClassifyRequest>) => {
  const request = e.data;
  const reply = (r: ClassifyReply) => self.postMessage(r);
  if ('warm' in request) return reply(await warm(request.id));
  const { id, frame } = request;
  try {
    model ??= loadModel();
    const nsfw = await model;
    const started = performance.now();
    const image = pixels(frame);
    const input = tf.browser.fromPixels(image);
    try {
      const predictions = await nsfw.classify(input as tf.Tensor3D, 5);
      reply({ id, predictions, ms: performance.now() - started, backend: tf.getBackend() });
    } finally {
      input.dispose();
    }
  } catch (err) {
    model = null; // a later frame tries again
    reply({ id, error: String((err as Error)?.message ?? err) });
  } finally {
    frame.close();
  }
};

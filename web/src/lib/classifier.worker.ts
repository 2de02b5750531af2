// nsfwjs (MobileNetV2, the smallest of its models) in a worker: the model is
// part of our bundle (dynamic imports of the nsfwjs model files, served from
// /assets on our origin), TensorFlow.js runs on WebGL where the worker has it
// (OffscreenCanvas) and on the CPU otherwise. One frame at a time (the page
// never sends the next before the answer).

import * as tf from '@tensorflow/tfjs';
import { load, type NSFWJS } from 'nsfwjs/core';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { Prediction } from './classifier';

export type ClassifyRequest = { id: number; frame: ImageBitmap };
export type ClassifyReply = { id: number; predictions: Prediction[]; ms: number; backend: string } | { id: number; error: string };

let model: Promise<NSFWJS> | null = null;

async function loadModel(): Promise<NSFWJS> {
  try {
    if (!(await tf.setBackend('webgl'))) throw new Error('no webgl');
  } catch {
    await tf.setBackend('cpu');
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

self.onmessage = async (e: MessageEvent<ClassifyRequest>) => {
  const { id, frame } = e.data;
  const reply = (r: ClassifyReply) => self.postMessage(r);
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

import type { Tensor } from 'onnxruntime-node';

export interface TensorSpec {
  offset: number;
  dtype: 'int64' | 'float32';
  shape: number[];
}

export interface ParityCase {
  role: string;
  case: string;
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
}

export function openParityCases(dir: string): {
  index: { data: string; tolerance: number; cases: ParityCase[] };
  tensor: (spec: TensorSpec) => Tensor;
};

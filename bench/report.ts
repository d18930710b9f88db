/** One line per figure: what was measured, the figure, the target of docs/PERFORMANCE.md, and whether it is met. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** e.g. '>= 0.9' or '<= 50'; absent when there is no target. */
  target?: { op: '>=' | '<='; value: number };
  detail?: string;
}

export function met(f: Figure): boolean | null {
  if (!f.target) return null;
  return f.target.op === '>=' ? f.value >= f.target.value : f.value <= f.target.value;
}

export function formatFigure(f: Figure): string {
  const verdict = met(f);
  const target = f.target ? ` (target ${f.target.op} ${f.target.value}${f.unit === 'ratio' ? '' : ` ${f.unit}`})` : '';
  const mark = verdict === null ? '     ' : verdict ? ' MET ' : ' MISS';
  const value = Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(f.value < 10 ? 3 : 1);
  return `${mark} ${f.name}: ${value}${f.unit === 'ratio' ? '' : ` ${f.unit}`}${target}${f.detail ? ` — ${f.detail}` : ''}`;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i];
}

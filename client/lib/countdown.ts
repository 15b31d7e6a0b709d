/** Whole seconds as a clock reads them: 299 → "4:59", 5 → "0:05", 3600 → "60:00". */
export function formatCountdown(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** "1 second", "30 seconds". */
export function secondsText(count: number): string {
  return `${count} second${count === 1 ? '' : 's'}`;
}

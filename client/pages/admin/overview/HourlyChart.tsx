import { createUniqueId, For, Index, type Component } from 'solid-js';
import type { OverviewHour } from '../../../../shared/api.ts';

type Series = Exclude<keyof OverviewHour, 'hour'>;

const WIDTH = 240;
const HEIGHT = 64;
const GAP = 1;
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** "12 in all, most (5) in the hour from 14:00". */
function summary(hours: OverviewHour[], series: Series): string {
  const total = hours.reduce((sum, hour) => sum + hour[series], 0);
  if (total === 0) return 'none';
  const peak = hours.reduce((best, hour) => (hour[series] > best[series] ? hour : best));
  return `${total} in all, most (${peak[series]}) in the hour from ${hourFormat.format(new Date(peak.hour))}`;
}

/**
 * Hour-by-hour bars for one or two series, as inline SVG. The picture has a text summary for
 * screen readers, and the numbers are one click away as a table.
 */
export const HourlyChart: Component<{ title: string; hours: OverviewHour[]; series: ReadonlyArray<{ key: Series; label: string }> }> = (props) => {
  const captionId = createUniqueId();
  const max = () => Math.max(1, ...props.hours.flatMap((hour) => props.series.map((s) => hour[s.key])));
  const slot = () => WIDTH / Math.max(1, props.hours.length);
  const barWidth = () => (slot() - GAP) / props.series.length;
  const description = () => props.series.map((s) => `${s.label}: ${summary(props.hours, s.key)}`).join('. ');

  return (
    <figure class="chart" aria-labelledby={captionId}>
      <figcaption id={captionId}>{props.title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${props.title}, last 24 hours. ${description()}.`} preserveAspectRatio="none">
        <Index each={props.hours}>
          {(hour, i) => (
            <For each={props.series}>
              {(series, s) => {
                const height = () => (hour()[series.key] / max()) * (HEIGHT - 2);
                return (
                  <rect class={`series-${s()}`} x={i * slot() + s() * barWidth()} y={HEIGHT - height()} width={Math.max(0.5, barWidth())} height={height()}>
                    <title>{`${hourFormat.format(new Date(hour().hour))}: ${hour()[series.key]} ${series.label.toLowerCase()}`}</title>
                  </rect>
                );
              }}
            </For>
          )}
        </Index>
        <line x1="0" y1={HEIGHT - 0.5} x2={WIDTH} y2={HEIGHT - 0.5} stroke="currentColor" stroke-opacity="0.3" stroke-width="1" />
      </svg>
      <div class="axis" aria-hidden="true">
        <span>24 h ago</span>
        <span>now</span>
      </div>
      <div class="legend">
        <For each={props.series}>
          {(series, s) => (
            <span>
              <span class={`swatch series-${s()}`} aria-hidden="true" />
              {series.label}: {props.hours.reduce((sum, hour) => sum + hour[series.key], 0)}
            </span>
          )}
        </For>
      </div>
      <details>
        <summary>Show as a table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Hour</th>
                <For each={props.series}>{(series) => <th scope="col">{series.label}</th>}</For>
              </tr>
            </thead>
            <tbody>
              <For each={props.hours}>
                {(hour) => (
                  <tr>
                    <th scope="row">
                      <time datetime={hour.hour}>{hourFormat.format(new Date(hour.hour))}</time>
                    </th>
                    <For each={props.series}>{(series) => <td>{hour[series.key]}</td>}</For>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
};

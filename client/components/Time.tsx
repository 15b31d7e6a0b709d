import type { Component } from 'solid-js';

const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** An instant from the API, in the reader's locale and time zone. */
export const Time: Component<{ value: string }> = (props) => (
  <time datetime={props.value}>{format.format(new Date(props.value))}</time>
);

/**
 * A Server-Sent Events reader for streams EventSource cannot open (it only GETs). Feed it
 * decoded text as it arrives; it calls back with the data of each complete event.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export interface SseParser {
  push: (text: string) => void;
  /** The stream ended: an event not yet closed by a blank line is dropped, as the spec says. */
  end: () => void;
}

export function createSseParser(onData: (data: string) => void): SseParser {
  let buffer = '';
  let data: string[] = [];

  function line(text: string) {
    // A blank line dispatches the event gathered so far.
    if (text === '') {
      if (data.length > 0) onData(data.join('\n'));
      data = [];
      return;
    }
    // Comments (":") keep the connection alive and carry nothing.
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    // Only data matters here; event, id and retry are not used by Argus's streams.
    if (field === 'data') data.push(value);
  }

  return {
    push: (text) => {
      buffer += text;
      // Lines end in CRLF, LF or CR; a CR at the very end may be half of a CRLF still to come.
      for (;;) {
        const match = /\r\n|\n|\r(?=[^\n])/.exec(buffer);
        if (!match) break;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    },
    end: () => {
      buffer = '';
      data = [];
    },
  };
}

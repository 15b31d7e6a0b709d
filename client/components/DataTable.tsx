import { For, Show, type Component, type JSX } from 'solid-js';

/** A table's column headings, left to right. */
export const TableHead: Component<{ columns: readonly string[] }> = (props) => (
  <thead>
    <tr>
      <For each={props.columns}>{(column) => <th scope="col">{column}</th>}</For>
    </tr>
  </thead>
);

export interface DataTableProps {
  /** The headings; each row renders its cells in the same order. */
  columns: readonly string[];
  /** How many rows there are: none shows `empty` instead of the table. */
  count: number | undefined;
  /** What stands in place of an empty table, e.g. "No users match". */
  empty: string;
  /** The rows, inside the table body. */
  children: JSX.Element;
  /** Under the table, when it is shown: "Load more", a note. */
  footer?: JSX.Element;
}

/** A console table: headings, rows, or a line saying there are none. Narrow screens stack its rows as cards. */
export const DataTable: Component<DataTableProps> = (props) => (
  <Show when={props.count} fallback={<p class="empty">{props.empty}</p>}>
    <div class="table-wrap stacked-cards">
      <table>
        <TableHead columns={props.columns} />
        <tbody>{props.children}</tbody>
      </table>
    </div>
    {props.footer}
  </Show>
);

// Names no other test run shares (usernames, categories, markers), so that suites can run side by
// side on one database without seeing each other's rows. Pure: never touches a database.
let seq = 0;

/** `${prefix}${pid % 1000}x${n}`: unique within this process, and apart from other processes' runs. */
export function unique(prefix: string): string {
  return `${prefix}${process.pid % 1000}x${++seq}`;
}

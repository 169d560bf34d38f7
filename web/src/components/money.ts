// Amounts are integers in minor units everywhere (the API's rule); this is the one place that turns
// them into text for people.

export function formatMoney(minor: number, currency = 'USD'): string {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

/** Contact details never reach a log in clear: these keep just enough to tell two customers apart. */

/** `jane.doe@example.com` → `j***@example.com`; anything without a usable `@` → `***`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** `+33 6 12 34 56 12` → `+33******12`: country code and the last two digits, every other digit starred. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 6) return '***';
  const international = phone.trim().startsWith('+');
  const head = international ? `+${digits.slice(0, 2)}` : '';
  const rest = international ? digits.slice(2) : digits;
  return `${head}${'*'.repeat(Math.max(0, rest.length - 2))}${rest.slice(-2)}`;
}

/** What a role may be called: letters, digits and `_ . : -`, starting with a letter or digit, at most 64. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const isRoleName = (name: string): boolean => ROLE_NAME.test(name);

export const ROLE_NAME_RULE = 'letters, digits, _ . : -; starting with a letter or digit; at most 64';

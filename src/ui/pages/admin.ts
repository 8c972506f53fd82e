export const adminPages = {}

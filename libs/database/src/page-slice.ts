/** The rows of one page of a list: skip `offset`, take `pageSize` (the HTTP layer's window). */
export interface PageSlice {
  offset: number;
  pageSize: number;
}

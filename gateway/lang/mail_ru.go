package lang

var mailRU = catalog{}

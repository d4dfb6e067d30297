package lang

var botRU = catalog{}

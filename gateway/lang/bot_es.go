package lang

var botES = catalog{}

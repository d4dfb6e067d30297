package lang

var mailEN = catalog{}

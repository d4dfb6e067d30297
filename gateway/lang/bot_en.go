package lang

var botEN = catalog{}

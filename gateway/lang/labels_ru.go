package lang

var labelsRU = catalog{
	"topic.0":  "Общие вопросы",
	"topic.1":  "Сеть",
	"topic.2":  "Правила",
	"topic.3":  "Оплата",
	"topic.4":  "SSL / Сертификаты",
	"topic.5":  "Производительность",
	"status.0": "Открыт",
	"status.1": "В работе",
	"status.2": "Решён",
	"status.3": "Закрыт",
}

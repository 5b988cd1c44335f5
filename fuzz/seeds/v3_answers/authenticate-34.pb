

ѕљ®ЦЇґвыъЕЂ›ѕй€ѕљ‹ OzDAfjHhYHFLMWBP.21
"""Texts of the demo in Italian and English: reviews, survey comments, chatbot questions, tickets.

Texts are grouped by brand, language and mood. Two moods are tied to planted patterns (see
docs/demo.md): ``service`` (a slow customer-service ticket) and ``payment`` (a payment that failed
on the phone), so that text analyses can find the same pain points as the numbers.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CHATBOT", "CHECKOUT_ERRORS", "COMMENTS", "LANGUAGES", "MOODS", "REVIEWS", "TICKETS"]

LANGUAGES: Final = ("it", "en")
MOODS: Final = ("negative", "neutral", "positive", "service", "payment")

# REVIEWS[brand][language][mood] → (title, text) pairs
REVIEWS: Final = {
    "lagoblu": {
        "it": {
            "negative": (
                ("Deludente", "Camera piccola e rumorosa, la vista lago era solo un angolo."),
                ("Non ci torneremo", "Colazione povera e personale distratto. Prezzo eccessivo."),
                ("Pulizia da rivedere", "Bagno non pulito all'arrivo e aria condizionata rotta."),
                (
                    "Parcheggio un incubo",
                    "Parcheggio introvabile e a pagamento, nessuno ci ha aiutato.",
                ),
            ),
            "neutral": (
                ("Nella media", "Posizione ottima, camera datata. Colazione discreta."),
                ("Buono ma migliorabile", "Bella piscina, ma il wifi in camera non funzionava."),
                ("Soggiorno corretto", "Tutto regolare, niente di speciale per il prezzo."),
            ),
            "positive": (
                (
                    "Vista meravigliosa",
                    "Camera con vista lago stupenda, staff gentilissimo. Torneremo!",
                ),
                ("Vacanza perfetta", "Ideale per famiglie: piscina, animazione e colazione ricca."),
                ("Relax totale", "Spa bellissima e cena in terrazza indimenticabile."),
                ("Consigliatissimo", "Posizione perfetta per visitare Malcesine e il Monte Baldo."),
                ("Ottimo per lavoro", "Camera silenziosa, wifi veloce, check-in rapidissimo."),
            ),
            "service": (
                (
                    "Assistenza lentissima",
                    "Ho scritto tre volte per un rimborso e ho aspettato giorni.",
                ),
                ("Nessuna risposta", "Il servizio clienti non risponde, pratica ancora aperta."),
            ),
            "payment": (
                (
                    "Prenotazione impossibile da cellulare",
                    "Il pagamento dal telefono si bloccava sempre, ho dovuto usare il computer.",
                ),
            ),
        },
        "en": {
            "negative": (
                ("Disappointing", "Small, noisy room and the lake view was a corner of a window."),
                ("Overpriced", "Poor breakfast and inattentive staff for this price."),
                ("Not clean", "Bathroom not clean on arrival and the air conditioning broken."),
            ),
            "neutral": (
                ("Average", "Great location, dated room, decent breakfast."),
                ("Fine but", "Lovely pool, but the wifi in the room did not work."),
            ),
            "positive": (
                (
                    "Stunning lake view",
                    "Beautiful room facing the lake, lovely staff. We'll be back!",
                ),
                (
                    "Perfect family holiday",
                    "Pool, kids club and a great breakfast. Highly recommended.",
                ),
                ("Pure relaxation", "Wonderful spa and an unforgettable dinner on the terrace."),
                ("Great for business", "Quiet room, fast wifi, check-in in two minutes."),
            ),
            "service": (
                (
                    "Very slow customer service",
                    "Wrote three times about a refund and waited for days.",
                ),
                ("No answer", "Customer service never replied, my request is still open."),
            ),
            "payment": (
                (
                    "Could not book on my phone",
                    "Payment kept failing on mobile, I had to book from a laptop.",
                ),
            ),
        },
    },
    "aurora": {
        "it": {
            "negative": (
                ("Prodotto rovinato", "La crema è arrivata aperta e il pacco era schiacciato."),
                ("Consegna in ritardo", "Ordine arrivato dopo dieci giorni, regalo rovinato."),
                ("Non mi è piaciuto", "Profumo troppo forte e la pelle si è irritata."),
            ),
            "neutral": (
                ("Carino", "Prodotti buoni, spedizione un po' lenta."),
                ("Nella media", "Il siero va bene ma costa troppo rispetto al formato."),
                ("Ok", "Buon profumo, confezione semplice."),
            ),
            "positive": (
                (
                    "Adoro questi prodotti",
                    "Crema viso leggerissima e profumata, la ricompro sempre.",
                ),
                ("Regalo perfetto", "Cofanetto elegante, arrivato in due giorni. Consigliato!"),
                ("Negozio splendido", "Commesse gentili e competenti nel negozio di Verona."),
                ("Qualità naturale", "Ingredienti naturali e ottimo rapporto qualità prezzo."),
            ),
            "service": (
                ("Servizio clienti lento", "Reso aperto da due settimane e nessuna risposta."),
                ("Assistenza assente", "Ho chiamato più volte, mi hanno risposto dopo giorni."),
            ),
            "payment": (
                (
                    "Pagamento da app impossibile",
                    "Il pagamento dal cellulare dà sempre errore, riprovato tre volte.",
                ),
                ("Checkout da rifare", "Carta rifiutata sul telefono, dal computer è andata."),
            ),
        },
        "en": {
            "negative": (
                ("Damaged product", "The cream arrived open and the parcel was crushed."),
                ("Late delivery", "Order arrived after ten days, too late for the gift."),
            ),
            "neutral": (
                ("Nice", "Good products, shipping a bit slow."),
                ("Average", "The serum is fine but pricey for the size."),
            ),
            "positive": (
                ("Love these products", "Light, lovely face cream. I keep buying it."),
                ("Perfect gift", "Elegant gift box, delivered in two days. Recommended!"),
                ("Natural quality", "Natural ingredients and great value for money."),
            ),
            "service": (
                ("Slow customer service", "Return opened two weeks ago and still no answer."),
            ),
            "payment": (
                ("Mobile checkout broken", "Payment on my phone kept failing, tried three times."),
            ),
        },
    },
}

# Survey comments: COMMENTS[language][mood]
COMMENTS: Final = {
    "it": {
        "negative": (
            "Esperienza deludente.",
            "Non consiglierei.",
            "Prezzi troppo alti.",
            "Qualità inferiore alle attese.",
        ),
        "neutral": ("Tutto ok.", "Nella norma.", "Discreto, si può migliorare."),
        "positive": (
            "Bravissimi!",
            "Tutto perfetto, grazie.",
            "Consiglio a tutti.",
            "Personale gentilissimo.",
        ),
        "service": (
            "Assistenza troppo lenta.",
            "Ho aspettato giorni per una risposta.",
            "Nessuno risolve il problema.",
        ),
        "payment": ("Il pagamento da cellulare non funziona.", "Checkout complicato dal telefono."),
    },
    "en": {
        "negative": ("Disappointing.", "Would not recommend.", "Too expensive."),
        "neutral": ("All fine.", "As expected.", "Could be better."),
        "positive": ("Great job!", "Everything perfect, thanks.", "Lovely staff."),
        "service": ("Customer service far too slow.", "Waited days for an answer."),
        "payment": ("Mobile payment does not work.", "Checkout on the phone is painful."),
    },
}

# Chatbot questions: CHATBOT[brand][language] → (topic, message)
CHATBOT: Final = {
    "lagoblu": {
        "it": (
            ("parking", "C'è il parcheggio per l'auto?"),
            ("pets", "Accettate animali domestici?"),
            ("breakfast", "Fino a che ora si fa colazione?"),
            ("children", "Ci sono sconti per i bambini?"),
            ("spa", "La spa è inclusa nel prezzo?"),
            ("availability", "Avete disponibilità per Ferragosto?"),
        ),
        "en": (
            ("parking", "Is there parking for guests?"),
            ("airport", "How do I get there from Verona airport?"),
            ("children", "Do you have family rooms?"),
            ("spa", "Is the spa included?"),
        ),
    },
    "aurora": {
        "it": (
            ("shipping", "Quanto tempo ci mette la spedizione?"),
            ("returns", "Come faccio un reso?"),
            ("ingredients", "La crema è adatta a pelli sensibili?"),
            ("order", "Dov'è il mio ordine?"),
            ("gift", "Potete fare il pacchetto regalo?"),
            ("stores", "Il negozio di Milano è aperto la domenica?"),
        ),
        "en": (
            ("shipping", "Do you ship to Switzerland?"),
            ("returns", "How do I return an item?"),
            ("ingredients", "Is the serum vegan?"),
        ),
    },
}

# Support-ticket topics per brand: (topic, cause) — cause ties a ticket to what raised it
TICKETS: Final = {
    "lagoblu": (
        ("booking_change", "any"),
        ("refund", "any"),
        ("invoice", "any"),
        ("payment_failed", "payment"),
        ("lost_item", "stay"),
    ),
    "aurora": (
        ("where_is_my_order", "delivery"),
        ("damaged_item", "delivery"),
        ("return", "any"),
        ("payment_failed", "payment"),
        ("discount_code", "any"),
    ),
}

CHECKOUT_ERRORS: Final = (
    "3ds_timeout",
    "card_declined",
    "payment_page_not_loaded",
    "session_expired",
)

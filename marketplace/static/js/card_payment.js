// Card payment of an invoice (company/card_payments/pay.html): Stripe.js tokenises the card on the training
// organisation's Stripe account; our server creates and confirms the PaymentIntent for the amount it reads
// from its own database; 3-D Secure is handled by stripe.confirmCardPayment; then the result page polls us.
(function () {
  "use strict";
  const form = document.getElementById("card-payment");
  if (!form) return;
  const errors = document.getElementById("card-errors");
  const status = document.getElementById("card-status");
  const button = document.getElementById("card-submit");
  if (typeof Stripe === "undefined") {
    errors.textContent = "Le module de paiement de Stripe n'a pas pu être chargé : réessayez plus tard ou payez par virement.";
    button.disabled = true;
    return;
  }
  const stripe = Stripe(form.dataset.key, { locale: "fr" });
  const card = stripe.elements().create("card", { hidePostalCode: true });
  card.mount("#card-element");

  function fail(message) {
    errors.textContent = message || "La carte n'a pas pu être lue : vérifiez les informations saisies.";
    status.textContent = "";
    button.disabled = false;
  }

  async function paymentMethodId() {
    const created = await stripe.createPaymentMethod({ type: "card", card: card });
    if (created && created.paymentMethod) return created.paymentMethod.id;
    if (created && created.error) throw created.error;
    // A Stripe.js without payment methods (localstripe's, in tests): the tokenised card's id.
    const tokenised = await stripe.createToken(card);
    if (tokenised.error) throw tokenised.error;
    return tokenised.token.card.id;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    errors.textContent = "";
    button.disabled = true;
    status.textContent = "Paiement en cours…";
    let method;
    try {
      method = await paymentMethodId();
    } catch (error) {
      fail(error && error.message);
      return;
    }
    const response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.dataset.csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ payment_method: method }),
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      window.location.assign(form.dataset.retry);
      return;
    }
    if (answer.client_secret) {
      status.textContent = "Confirmation demandée par votre banque (3-D Secure)…";
      await stripe.confirmCardPayment(answer.client_secret);
    }
    window.location.assign(answer.next || form.dataset.retry);
  });
})();
